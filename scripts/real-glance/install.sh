#!/usr/bin/env bash
# Installs a real OpenStack Glance API server (glance, from PyPI) and
# gunicorn into a virtualenv: DIR/venv (DIR defaults to target/real-glance
# at the repository root). Idempotent and quick when already installed;
# parallel runs wait for each other (flock on DIR/.install.lock).
#
# Needs Python >= 3.11 (glance 33 requires it) with venv. On a Debian
# machine without them, running as root, it installs python3 and
# python3-venv with apt-get; nothing else is installed system-wide.
#
# Usage: scripts/real-glance/install.sh [DIR]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${1:-$ROOT/target/real-glance}
GLANCE_VERSION=33.0.0
GUNICORN_VERSION=27.0.1
VENV="$DIR/venv"
STAMP="$VENV/.imagecat-installed-glance-$GLANCE_VERSION-gunicorn-$GUNICORN_VERSION"

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
VENV="$DIR/venv"
STAMP="$VENV/.imagecat-installed-glance-$GLANCE_VERSION-gunicorn-$GUNICORN_VERSION"

if command -v flock >/dev/null 2>&1; then
    exec 9>"$DIR/.install.lock"
    flock 9
fi

if [ -f "$STAMP" ] && "$VENV/bin/python" -c 'import glance, gunicorn' >/dev/null 2>&1; then
    echo "real-glance: glance $GLANCE_VERSION and gunicorn $GUNICORN_VERSION already installed in $VENV"
    exit 0
fi

fail() {
    echo "real-glance: cannot install the real Glance: $*" >&2
    exit 1
}

python_ok() {
    command -v "$1" >/dev/null 2>&1 &&
        "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

PYTHON=${PYTHON:-python3}
if ! python_ok "$PYTHON"; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "real-glance: installing python3 and python3-venv with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq || fail "apt-get update failed"
        apt-get install -y -qq python3 python3-venv >/dev/null || fail "apt-get install python3 python3-venv failed"
        PYTHON=/usr/bin/python3
    fi
fi
if ! python_ok "$PYTHON"; then
    version=$("$PYTHON" --version 2>&1 || echo "no $PYTHON")
    fail "glance $GLANCE_VERSION needs Python >= 3.11 with the venv and ensurepip modules; found: $version (set PYTHON=/path/to/python3.11+, or install python3-venv)"
fi

echo "real-glance: creating $VENV with $("$PYTHON" --version 2>&1)"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV" || fail "python -m venv $VENV failed"
echo "real-glance: pip install glance==$GLANCE_VERSION gunicorn==$GUNICORN_VERSION (constraints: $HERE/constraints.txt)"
if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    -c "$HERE/constraints.txt" "glance==$GLANCE_VERSION" "gunicorn==$GUNICORN_VERSION"; then
    fail "pip could not install glance and gunicorn from PyPI (is PyPI reachable? see the pip output above)"
fi
# Find (not import: importing it starts the application) the WSGI module.
"$VENV/bin/python" -c 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("glance.wsgi.api") else 1)' ||
    fail "glance is installed but has no glance.wsgi.api module"
touch "$STAMP"
echo "real-glance: installed in $VENV"
