#!/usr/bin/env bash
# Installs Glance's own command-line clients, python-openstackclient and
# openstacksdk (pinned, with the real Glance's constraints), into a
# virtualenv of their own: DIR/clients (DIR defaults to target/real-glance).
# Idempotent and quick when already installed; parallel runs wait for each
# other (flock on DIR/.clients.lock). Needs Python >= 3.10 with venv
# (installed with apt-get when run as root on Debian). The virtualenv
# steps are scripts/lib/venv.sh's.
#
# Usage: scripts/real-glance/install-clients.sh [DIR]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/venv.sh"
OSC_VERSION=10.5.0
SDK_VERSION=4.22.0

venv_init real-glance "${1:-$HERE/../../target/real-glance}" clients .clients.lock
STAMP="$VENV/.imagecat-installed-osc-$OSC_VERSION-sdk-$SDK_VERSION"
venv_ready "$STAMP" test -x "$VENV/bin/openstack"
venv_python 10 "python-openstackclient $OSC_VERSION"
venv_install "$HERE/constraints.txt" "python-openstackclient==$OSC_VERSION" "openstacksdk==$SDK_VERSION"
"$VENV/bin/openstack" --version >/dev/null || venv_fail "openstack does not run"
venv_done "$STAMP"
