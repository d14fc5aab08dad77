#!/usr/bin/env bash
# Installs moto (the AWS mock server, `moto[server]` from PyPI) into a
# virtualenv, DIR/venv, and the real AWS clients the EC2 tests drive
# (awscli and boto3) into a second one, DIR/clients, so their botocore
# versions do not meet (DIR defaults to target/moto at the repository
# root). Idempotent and quick when already installed; parallel runs wait
# for each other (flock on DIR/.install.lock). Pinned: the versions below
# and constraints.txt / constraints-clients.txt (pip freeze of working
# virtualenvs). The virtualenv steps are scripts/lib/venv.sh's.
#
# Usage: scripts/moto/install.sh [DIR]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/venv.sh"
MOTO_VERSION=5.2.6
AWSCLI_VERSION=1.46.3
BOTO3_VERSION=1.44.18

ROOT=${1:-$HERE/../../target/moto}

# moto itself.
(
    venv_init moto "$ROOT" venv .install.lock
    STAMP="$VENV/.imagecat-installed-moto-$MOTO_VERSION"
    # The entry point is run, not only imported: a virtualenv moved to
    # another directory still imports but its scripts' #! lines are stale.
    if ! { [ -f "$STAMP" ] && "$VENV/bin/moto_server" --help >/dev/null 2>&1; }; then
        venv_python 11 "moto $MOTO_VERSION"
        venv_install "$HERE/constraints.txt" "moto[server]==$MOTO_VERSION"
        venv_done "$STAMP"
    else
        echo "moto: already installed in $VENV"
    fi
)

# The clients: awscli and boto3.
venv_init moto "$ROOT" clients .clients.lock
STAMP="$VENV/.imagecat-installed-awscli-$AWSCLI_VERSION-boto3-$BOTO3_VERSION"
venv_ready "$STAMP" "$VENV/bin/aws" --version
venv_python 11 "awscli $AWSCLI_VERSION and boto3 $BOTO3_VERSION"
venv_install "$HERE/constraints-clients.txt" "awscli==$AWSCLI_VERSION" "boto3==$BOTO3_VERSION"
"$VENV/bin/aws" --version >/dev/null || venv_fail "aws does not run"
venv_done "$STAMP"
