#!/usr/bin/env bash
# Installs a real OpenStack Keystone identity server (keystone, from PyPI)
# and gunicorn into a virtualenv: DIR/venv (DIR defaults to
# target/real-keystone at the repository root). Idempotent and quick when
# already installed; parallel runs wait for each other (flock on
# DIR/.install.lock).
#
# Needs Python >= 3.11 with venv; on a Debian machine without them, running
# as root, it installs python3 and python3-venv with apt-get. The
# virtualenv steps are scripts/lib/venv.sh's.
#
# Usage: scripts/real-keystone/install.sh [DIR]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/venv.sh"
KEYSTONE_VERSION=30.0.0
GUNICORN_VERSION=27.0.1

venv_init real-keystone "${1:-$HERE/../../target/real-keystone}" venv .install.lock
STAMP="$VENV/.imagecat-installed-keystone-$KEYSTONE_VERSION-gunicorn-$GUNICORN_VERSION"
venv_ready "$STAMP" "$VENV/bin/python" -c 'import keystone, gunicorn'
venv_python 11 "keystone $KEYSTONE_VERSION"
venv_install "$HERE/constraints.txt" "keystone==$KEYSTONE_VERSION" "gunicorn==$GUNICORN_VERSION"
venv_done "$STAMP"
