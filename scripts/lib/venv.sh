# shellcheck shell=bash
# What the install scripts of the real servers (scripts/real-*/install*.sh)
# share: a virtualenv under an install directory, made once (a stamp file
# names what is in it), serialised by flock, with a Python new enough.
# Sourced, after `set -euo pipefail`:
#
#   . "$HERE/../lib/venv.sh"
#   venv_init WHO DIR NAME LOCK # DIR made absolute; VENV=DIR/NAME; flock on DIR/LOCK
#   venv_ready STAMP CMD...     # exits 0 (saying so) when STAMP is there and CMD runs in it
#   venv_python MINOR WHAT      # PYTHON: a python3 >= 3.MINOR with venv (apt-get as root)
#   venv_install CONSTRAINTS PKG...   # a fresh VENV, then pip install PKG... -c CONSTRAINTS
#   venv_done STAMP             # touches STAMP, says where
#
# WHO prefixes every message ("real-glance"); `venv_fail` says why and exits 1.

venv_fail() {
    echo "$VENV_WHO: cannot install $VENV_WHAT: $*" >&2
    exit 1
}

venv_init() {
    VENV_WHO=$1
    VENV_WHAT=$1
    mkdir -p "$2"
    DIR=$(cd "$2" && pwd)
    VENV="$DIR/$3"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$DIR/$4"
        flock 9
    fi
}

venv_ready() {
    local stamp=$1
    shift
    if [ -f "$stamp" ] && "$@" >/dev/null 2>&1; then
        echo "$VENV_WHO: already installed in $VENV (${stamp##*/.imagecat-installed-})"
        exit 0
    fi
}

venv_python_ok() {
    command -v "$1" >/dev/null 2>&1 &&
        "$1" -c "import sys, venv, ensurepip; sys.exit(0 if sys.version_info >= (3, $2) else 1)" >/dev/null 2>&1
}

venv_python() {
    VENV_WHAT=$2
    PYTHON=${PYTHON:-python3}
    if ! venv_python_ok "$PYTHON" "$1"; then
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            echo "$VENV_WHO: installing python3 and python3-venv with apt-get"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq || venv_fail "apt-get update failed"
            apt-get install -y -qq python3 python3-venv >/dev/null || venv_fail "apt-get install python3 python3-venv failed"
            PYTHON=/usr/bin/python3
        fi
    fi
    if ! venv_python_ok "$PYTHON" "$1"; then
        local version
        version=$("$PYTHON" --version 2>&1 || echo "no $PYTHON")
        venv_fail "$2 needs Python >= 3.$1 with the venv and ensurepip modules; found: $version (set PYTHON=/path/to/python3.$1+, or install python3-venv)"
    fi
}

venv_install() {
    local constraints=$1
    shift
    echo "$VENV_WHO: creating $VENV with $("${PYTHON:-python3}" --version 2>&1)"
    rm -rf "$VENV"
    "${PYTHON:-python3}" -m venv "$VENV" || venv_fail "python -m venv $VENV failed"
    echo "$VENV_WHO: pip install $* (constraints: $constraints)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check -c "$constraints" "$@" ||
        venv_fail "pip could not install $* from PyPI (is PyPI reachable? see the pip output above)"
}

venv_done() {
    touch "$1"
    echo "$VENV_WHO: installed in $VENV"
}
