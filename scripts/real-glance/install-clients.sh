#!/usr/bin/env bash
# Installs Glance's own command-line clients, python-openstackclient and
# openstacksdk (pinned, with the real Glance's constraints), into a
# virtualenv of their own: DIR/clients (DIR defaults to target/real-glance).
# Idempotent and quick when already installed; parallel runs wait for each
# other (flock on DIR/.clients.lock). Needs Python >= 3.10 with venv (the
# real Glance's install.sh installs one on Debian when run as root).
#
# Usage: scripts/real-glance/install-clients.sh [DIR]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${1:-$ROOT/target/real-glance}
OSC_VERSION=10.5.0
SDK_VERSION=4.22.0

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
VENV="$DIR/clients"
STAMP="$VENV/.imagecat-installed-osc-$OSC_VERSION-sdk-$SDK_VERSION"

if command -v flock >/dev/null 2>&1; then
    exec 9>"$DIR/.clients.lock"
    flock 9
fi

if [ -f "$STAMP" ] && [ -x "$VENV/bin/openstack" ]; then
    echo "real-glance: python-openstackclient $OSC_VERSION already installed in $VENV"
    exit 0
fi

PYTHON=${PYTHON:-python3}
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV" || { echo "real-glance: python -m venv $VENV failed" >&2; exit 1; }
echo "real-glance: pip install python-openstackclient==$OSC_VERSION openstacksdk==$SDK_VERSION"
if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    -c "$HERE/constraints.txt" "python-openstackclient==$OSC_VERSION" "openstacksdk==$SDK_VERSION"; then
    echo "real-glance: pip could not install python-openstackclient from PyPI" >&2
    exit 1
fi
"$VENV/bin/openstack" --version >/dev/null || { echo "real-glance: openstack does not run" >&2; exit 1; }
touch "$STAMP"
echo "real-glance: clients installed in $VENV"
