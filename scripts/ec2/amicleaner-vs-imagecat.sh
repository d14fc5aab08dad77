#!/usr/bin/env bash
# aws-amicleaner 0.2.2 and `imagecat prune` head to head on the same moto
# fixture and the same policy (issue 24 §9; not part of CI). It:
#
#   1. installs aws-amicleaner 0.2.2 from PyPI (pinned, with
#      constraints-amicleaner.txt) into target/amicleaner/venv, and moto,
#      awscli and boto3 (scripts/moto/install.sh) into target/moto;
#   2. starts moto (SigV4 checking on, scripts/moto/serve.sh) and makes its
#      IAM key (bootstrap.py);
#   3. seeds the same fixture in two regions (amicleaner_fixture.py: AMI
#      families web and db by tags, two untagged AMIs, an instance, a launch
#      template, a lone launch configuration and an Auto Scaling group);
#   4. runs `amicleaner --mapping-key tags --mapping-values environment role
#      --keep-previous 2 -f` in us-east-1, and `imagecat prune --family
#      '^(web|db)-[0-9]+$' --keep 2 --older-than 0s --apply --yes` in
#      eu-west-1 (the same families: amicleaner groups by the tags, whose
#      values follow the names; untagged AMIs are excluded by amicleaner and
#      a family of one, kept, for imagecat);
#   5. prints what each deleted as a Markdown table (and writes it to
#      target/amicleaner/table.md), with the raw outputs beside it.
#
# Usage: scripts/ec2/amicleaner-vs-imagecat.sh   (IMAGECAT=path/to/imagecat
# to use another binary; default target/debug/imagecat, built if missing)
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT="$ROOT/target/amicleaner"
. "$HERE/../lib/venv.sh"
AMICLEANER_VERSION=0.2.2

# 1. aws-amicleaner, pinned, in a virtualenv of its own.
(
    venv_init amicleaner "$OUT" venv .install.lock
    STAMP="$VENV/.imagecat-installed-amicleaner-$AMICLEANER_VERSION"
    venv_ready "$STAMP" "$VENV/bin/amicleaner" --help
    venv_python 11 "aws-amicleaner $AMICLEANER_VERSION"
    venv_install "$HERE/constraints-amicleaner.txt" "aws-amicleaner==$AMICLEANER_VERSION"
    venv_done "$STAMP"
)
bash "$ROOT/scripts/moto/install.sh"
IMAGECAT=${IMAGECAT:-$ROOT/target/debug/imagecat}
if [ ! -x "$IMAGECAT" ]; then
    (cd "$ROOT" && cargo build -p imagecat-cli)
fi
PY="$ROOT/target/moto/clients/bin/python"

# 2. moto on a free loopback port, stopped on exit.
PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ENDPOINT="http://127.0.0.1:$PORT"
bash "$ROOT/scripts/moto/serve.sh" "$ROOT/target/moto" "$PORT" "$OUT/moto-run" &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
    curl -sf "$ENDPOINT/moto-api/" >/dev/null 2>&1 && break
    sleep 0.1
done
KEY=$("$PY" "$ROOT/scripts/moto/bootstrap.py" "$ENDPOINT")
export AWS_ACCESS_KEY_ID=$(echo "$KEY" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["access_key_id"])')
export AWS_SECRET_ACCESS_KEY=$(echo "$KEY" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["secret_access_key"])')
ACCOUNT=$(echo "$KEY" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["account"])')
export AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_EC2_METADATA_DISABLED=true
mkdir -p "$OUT"

# 3. the same fixture in two regions.
"$PY" "$HERE/amicleaner_fixture.py" "$ENDPOINT" us-east-1 seed >"$OUT/seed-amicleaner.json"
"$PY" "$HERE/amicleaner_fixture.py" "$ENDPOINT" eu-west-1 seed >"$OUT/seed-imagecat.json"

# 4a. aws-amicleaner in us-east-1.
"$PY" "$HERE/amicleaner_fixture.py" "$ENDPOINT" us-east-1 state >"$OUT/before-amicleaner.json"
set +e
AWS_ENDPOINT_URL="$ENDPOINT" AWS_DEFAULT_REGION=us-east-1 \
    "$OUT/venv/bin/amicleaner" --mapping-key tags --mapping-values environment role \
    --keep-previous 2 -f >"$OUT/amicleaner.out" 2>&1
AMICLEANER_RC=$?
set -e
"$PY" "$HERE/amicleaner_fixture.py" "$ENDPOINT" us-east-1 state >"$OUT/after-amicleaner.json"

# 4b. imagecat prune in eu-west-1.
"$PY" "$HERE/amicleaner_fixture.py" "$ENDPOINT" eu-west-1 state >"$OUT/before-imagecat.json"
set +e
"$IMAGECAT" -c "ec2+http://127.0.0.1:$PORT?region=eu-west-1" prune --owner "$ACCOUNT" \
    --family '^(web|db)-[0-9]+$' --keep 2 --older-than 0s --apply --yes \
    >"$OUT/imagecat.out" 2>&1
IMAGECAT_RC=$?
set -e
"$PY" "$HERE/amicleaner_fixture.py" "$ENDPOINT" eu-west-1 state >"$OUT/after-imagecat.json"

# 5. the table.
"$PY" - "$OUT" "$AMICLEANER_RC" "$IMAGECAT_RC" <<'PYEOF' | tee "$OUT/table.md"
import json, sys
out, arc, irc = sys.argv[1], sys.argv[2], sys.argv[3]
load = lambda n: json.load(open(f"{out}/{n}.json"))
seed = load("seed-amicleaner")
ba, aa = load("before-amicleaner"), load("after-amicleaner")
bi, ai = load("before-imagecat"), load("after-imagecat")
def fate(before, after, name):
    return "kept" if name in after["images"] else "**deleted**"
print(f"| AMI | used by | aws-amicleaner 0.2.2 (exit {arc}) | imagecat prune (exit {irc}) |")
print("|---|---|---|---|")
for name in seed["ids"]:
    used = seed["used"].get(name, "-")
    print(f"| {name} | {used} | {fate(ba, aa, name)} | {fate(bi, ai, name)} |")
print(f"| snapshots left | | {aa['snapshots']} of {ba['snapshots']} | {ai['snapshots']} of {bi['snapshots']} |")
PYEOF
echo "raw outputs: $OUT/amicleaner.out, $OUT/imagecat.out" >&2
