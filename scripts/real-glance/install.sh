#!/usr/bin/env bash
# Installs a real OpenStack Glance API server (glance, from PyPI) and
# gunicorn into a virtualenv: DIR/venv (DIR defaults to target/real-glance
# at the repository root). Idempotent and quick when already installed;
# parallel runs wait for each other (flock on DIR/.install.lock).
#
# Needs Python >= 3.11 (glance 33 requires it) with venv. On a Debian
# machine without them, running as root, it installs python3 and
# python3-venv with apt-get; nothing else is installed system-wide.
# The virtualenv steps are scripts/lib/venv.sh's.
#
# Usage: scripts/real-glance/install.sh [DIR]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/venv.sh"
GLANCE_VERSION=33.0.0
GUNICORN_VERSION=27.0.1

venv_init real-glance "${1:-$HERE/../../target/real-glance}" venv .install.lock
STAMP="$VENV/.imagecat-installed-glance-$GLANCE_VERSION-gunicorn-$GUNICORN_VERSION"
venv_ready "$STAMP" "$VENV/bin/python" -c 'import glance, gunicorn'
venv_python 11 "glance $GLANCE_VERSION"
venv_install "$HERE/constraints.txt" "glance==$GLANCE_VERSION" "gunicorn==$GUNICORN_VERSION"
# Find (not import: importing it starts the application) the WSGI module.
"$VENV/bin/python" -c 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("glance.wsgi.api") else 1)' ||
    venv_fail "glance is installed but has no glance.wsgi.api module"
venv_done "$STAMP"
