#!/usr/bin/env bash
# Serves moto (every AWS service on one port: EC2, STS, Auto Scaling, SSM,
# IAM) on 127.0.0.1:PORT from the virtualenv install.sh made in DIR, with
# the Amazon-owned default AMIs off and SigV4 signature checking ON after
# the first INITIAL_NO_AUTH_ACTION_COUNT requests (default 3: every request
# but the first three is checked: bootstrap.py spends those three on an IAM user,
# its access key and an allow-all policy — see imagecat_testkit::moto). STATE (default
# DIR/run/PORT) holds nothing but is where the logs go.
#
# Usage: scripts/moto/serve.sh DIR PORT [STATE]
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 DIR PORT [STATE]" >&2; exit 2; }
DIR=$(cd "$1" && pwd)
PORT=$2
STATE=${3:-$DIR/run/$PORT}
VENV="$DIR/venv"
[ -x "$VENV/bin/moto_server" ] || { echo "serve.sh: no moto_server in $VENV; run install.sh $DIR first" >&2; exit 1; }
rm -rf "$STATE"
mkdir -p "$STATE"
export MOTO_EC2_LOAD_DEFAULT_AMIS=false
export INITIAL_NO_AUTH_ACTION_COUNT="${INITIAL_NO_AUTH_ACTION_COUNT:-3}"
exec "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$STATE/moto.log" 2>&1
