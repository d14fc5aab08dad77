#!/usr/bin/env bash
# Serves a real Keystone v3 identity API on 127.0.0.1:PORT from the
# virtualenv install.sh made in DIR: SQLite database, fernet keys and logs
# in STATE (default DIR/run/PORT, wiped first); `keystone-manage db_sync`,
# `fernet_setup`, `credential_setup` and `bootstrap` (user admin, password
# ADMIN_PASSWORD, project admin in domain Default, region RegionOne, its own
# identity endpoint). Then execs gunicorn on the Keystone WSGI application.
#
# Usage: scripts/real-keystone/serve.sh DIR PORT ADMIN_PASSWORD [STATE]
set -euo pipefail

[ $# -ge 3 ] || { echo "usage: $0 DIR PORT ADMIN_PASSWORD [STATE]" >&2; exit 2; }
DIR=$(cd "$1" && pwd)
PORT=$2
ADMIN_PASSWORD=$3
STATE=${4:-$DIR/run/$PORT}
VENV="$DIR/venv"
[ -x "$VENV/bin/gunicorn" ] || { echo "serve.sh: no gunicorn in $VENV; run install.sh $DIR first" >&2; exit 1; }

rm -rf "$STATE"
mkdir -p "$STATE/etc" "$STATE/fernet" "$STATE/credential"
STATE=$(cd "$STATE" && pwd)
chmod 700 "$STATE/fernet" "$STATE/credential"

cat >"$STATE/etc/keystone.conf" <<CONF
[DEFAULT]
log_file = $STATE/keystone.log
use_stderr = false
debug = false

[database]
connection = sqlite:///$STATE/keystone.sqlite

[token]
provider = fernet

[fernet_tokens]
key_repository = $STATE/fernet

[fernet_receipts]
key_repository = $STATE/fernet

[credential]
key_repository = $STATE/credential
CONF

manage() {
    "$VENV/bin/keystone-manage" --config-file "$STATE/etc/keystone.conf" "$@" >>"$STATE/manage.log" 2>&1 || {
        echo "serve.sh: keystone-manage $1 failed:" >&2
        tail -n 30 "$STATE/manage.log" >&2
        exit 1
    }
}
me=$(id -un)
group=$(id -gn)
manage db_sync
manage fernet_setup --keystone-user "$me" --keystone-group "$group"
manage credential_setup --keystone-user "$me" --keystone-group "$group"
manage bootstrap --bootstrap-password "$ADMIN_PASSWORD" \
    --bootstrap-public-url "http://127.0.0.1:$PORT/v3" \
    --bootstrap-region-id RegionOne

# Keystone parses sys.argv with oslo.config, which would see gunicorn's
# arguments: a two-line module hides them and names the config file.
cat >"$STATE/imagecat_keystone_wsgi.py" <<PY
import sys
sys.argv = [sys.argv[0], "--config-file", "$STATE/etc/keystone.conf"]
from keystone.server import wsgi
application = wsgi.initialize_public_application()
PY

cd "$STATE"
exec "$VENV/bin/gunicorn" \
    --no-control-socket \
    --bind "127.0.0.1:$PORT" \
    --workers 1 \
    --threads 4 \
    --timeout 120 \
    --pythonpath "$STATE" \
    --access-logfile "$STATE/access.log" \
    --error-logfile "$STATE/gunicorn.log" \
    imagecat_keystone_wsgi:application
