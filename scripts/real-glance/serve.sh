#!/usr/bin/env bash
# Serves a real Glance v2 API on 127.0.0.1:PORT from the virtualenv that
# install.sh made in DIR: SQLite database and filesystem store in STATE
# (default DIR/run/PORT, wiped first), `glance-manage db_sync`, an empty
# paste flavor (the unauthenticated pipeline: no Keystone; X-Auth-Token is
# ignored) and a policy that makes that anonymous context an admin, so that
# POST /v2/images (any visibility and owner), PUT …/file, PATCH and DELETE
# work without credentials. Then execs gunicorn on glance.wsgi.api:application.
#
# Usage: scripts/real-glance/serve.sh DIR PORT [STATE]
# Env:   GLANCE_WORKERS (default 1), GLANCE_THREADS (default 8)
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 DIR PORT [STATE]" >&2; exit 2; }
DIR=$(cd "$1" && pwd)
PORT=$2
STATE=${3:-$DIR/run/$PORT}
VENV="$DIR/venv"
[ -x "$VENV/bin/gunicorn" ] || { echo "serve.sh: no gunicorn in $VENV; run install.sh $DIR first" >&2; exit 1; }

rm -rf "$STATE"
mkdir -p "$STATE/etc" "$STATE/images" "$STATE/staging" "$STATE/tasks"
STATE=$(cd "$STATE" && pwd)

PASTE="$VENV/etc/glance/glance-api-paste.ini"
[ -f "$PASTE" ] || { echo "serve.sh: $PASTE is missing from the glance install" >&2; exit 1; }
cp "$PASTE" "$STATE/etc/glance-api-paste.ini"

# The anonymous context of the unauthenticated pipeline has no roles;
# make it pass every "rule:context_is_admin" check (publicize_image…).
printf '"context_is_admin": "@"\n' >"$STATE/etc/policy.yaml"

cat >"$STATE/etc/glance-api.conf" <<CONF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $PORT
enabled_backends = fs:file
log_file = $STATE/glance-api.log
use_stderr = false
debug = false

[database]
connection = sqlite:///$STATE/glance.sqlite

[paste_deploy]
flavor =
config_file = $STATE/etc/glance-api-paste.ini

[glance_store]
default_backend = fs

[fs]
filesystem_store_datadir = $STATE/images

[os_glance_staging_store]
filesystem_store_datadir = $STATE/staging

[os_glance_tasks_store]
filesystem_store_datadir = $STATE/tasks

[oslo_policy]
enforce_new_defaults = false
enforce_scope = false
policy_file = $STATE/etc/policy.yaml
CONF

if ! "$VENV/bin/glance-manage" --config-file "$STATE/etc/glance-api.conf" db_sync >"$STATE/db_sync.log" 2>&1; then
    echo "serve.sh: glance-manage db_sync failed:" >&2
    tail -n 30 "$STATE/db_sync.log" >&2
    exit 1
fi

export OS_GLANCE_CONFIG_DIR="$STATE/etc"
cd "$STATE"
exec "$VENV/bin/gunicorn" \
    --no-control-socket \
    --bind "127.0.0.1:$PORT" \
    --workers "${GLANCE_WORKERS:-1}" \
    --threads "${GLANCE_THREADS:-8}" \
    --timeout 120 \
    --access-logfile "$STATE/access.log" \
    --error-logfile "$STATE/gunicorn.log" \
    glance.wsgi.api:application
