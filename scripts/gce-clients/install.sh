#!/usr/bin/env bash
# Installs Google's Python clients for Compute Engine, google-cloud-compute
# and google-api-python-client (whose wheel carries the Compute v1
# discovery document the emulator's documents are checked against),
# pinned with constraints.txt, into a virtualenv of its own: DIR/venv
# (DIR defaults to target/gce-clients). The GCE emulator's fidelity tests
# run small scripts with it against `imagecat emulate gce`. Idempotent and
# quick when already installed; parallel runs wait for each other (flock on
# DIR/.lock). Needs Python >= 3.9 with venv. The virtualenv steps are
# scripts/lib/venv.sh's.
#
# Usage: scripts/gce-clients/install.sh [DIR]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib/venv.sh"
GCC_VERSION=1.57.0
GAPI_VERSION=2.202.0
# httplib2 (the discovery client's transport) needs PySocks for any proxy
# setting, and the fidelity tests send every other host to a proxy trap.
PYSOCKS_VERSION=1.7.1

venv_init gce-clients "${1:-$HERE/../../target/gce-clients}" venv .lock
STAMP="$VENV/.imagecat-installed-google-cloud-compute-$GCC_VERSION-api-client-$GAPI_VERSION-pysocks-$PYSOCKS_VERSION"
venv_ready "$STAMP" "$VENV/bin/python" -c "import google.cloud.compute_v1, googleapiclient, socks"
venv_python 9 "google-cloud-compute $GCC_VERSION"
venv_install "$HERE/constraints.txt" "google-cloud-compute==$GCC_VERSION" "google-api-python-client==$GAPI_VERSION" "PySocks==$PYSOCKS_VERSION"
"$VENV/bin/python" -c "import google.cloud.compute_v1, googleapiclient, socks" || venv_fail "the clients do not import"
venv_done "$STAMP"
