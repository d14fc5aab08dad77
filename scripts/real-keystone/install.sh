#!/usr/bin/env bash
# Installs a real OpenStack Keystone identity server (keystone, from PyPI)
# and gunicorn into a virtualenv: DIR/venv (DIR defaults to
# target/real-keystone at the repository root). Idempotent and quick when
# already installed; parallel runs wait for each other (flock).
#
# Needs Python >= 3.11 with venv; on a Debian machine without them, running
# as root, it installs python3 and python3-venv with apt-get.
#
# Usage: scripts/real-keystone/install.sh [DIR]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${1:-$ROOT/target/real-keystone}
KEYSTONE_VERSION=30.0.0
GUNICORN_VERSION=27.0.1

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
VENV="$DIR/venv"
STAMP="$VENV/.imagecat-installed-keystone-$KEYSTONE_VERSION-gunicorn-$GUNICORN_VERSION"

if command -v flock >/dev/null 2>&1; then
    exec 9>"$DIR/.install.lock"
    flock 9
fi

if [ -f "$STAMP" ] && "$VENV/bin/python" -c 'import keystone, gunicorn' >/dev/null 2>&1; then
    echo "real-keystone: keystone $KEYSTONE_VERSION and gunicorn $GUNICORN_VERSION already installed in $VENV"
    exit 0
fi

fail() {
    echo "real-keystone: cannot install the real Keystone: $*" >&2
    exit 1
}

python_ok() {
    command -v "$1" >/dev/null 2>&1 &&
        "$1" -c 'import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

PYTHON=${PYTHON:-python3}
if ! python_ok "$PYTHON"; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "real-keystone: installing python3 and python3-venv with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq || fail "apt-get update failed"
        apt-get install -y -qq python3 python3-venv >/dev/null || fail "apt-get install python3 python3-venv failed"
        PYTHON=/usr/bin/python3
    fi
fi
if ! python_ok "$PYTHON"; then
    version=$("$PYTHON" --version 2>&1 || echo "no $PYTHON")
    fail "keystone $KEYSTONE_VERSION needs Python >= 3.11 with the venv and ensurepip modules; found: $version"
fi

echo "real-keystone: creating $VENV with $("$PYTHON" --version 2>&1)"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV" || fail "python -m venv $VENV failed"
echo "real-keystone: pip install keystone==$KEYSTONE_VERSION gunicorn==$GUNICORN_VERSION (constraints: $HERE/constraints.txt)"
if ! "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    -c "$HERE/constraints.txt" "keystone==$KEYSTONE_VERSION" "gunicorn==$GUNICORN_VERSION"; then
    fail "pip could not install keystone and gunicorn from PyPI (is PyPI reachable? see the pip output above)"
fi
touch "$STAMP"
echo "real-keystone: installed in $VENV"
