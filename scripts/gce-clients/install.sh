#!/usr/bin/env bash
# Installs Google's Python client for Compute Engine, google-cloud-compute
# (pinned, with constraints.txt), into a virtualenv of its own: DIR/venv
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

venv_init gce-clients "${1:-$HERE/../../target/gce-clients}" venv .lock
STAMP="$VENV/.imagecat-installed-google-cloud-compute-$GCC_VERSION"
venv_ready "$STAMP" "$VENV/bin/python" -c "import google.cloud.compute_v1"
venv_python 9 "google-cloud-compute $GCC_VERSION"
venv_install "$HERE/constraints.txt" "google-cloud-compute==$GCC_VERSION"
"$VENV/bin/python" -c "import google.cloud.compute_v1" || venv_fail "google.cloud.compute_v1 does not import"
venv_done "$STAMP"
