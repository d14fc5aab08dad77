#!/usr/bin/env bash
# Benchmark: listing N images (default 5,000) of a real Glance with
#   1. imagecat (the `list` example of imagecat-glance, release build) at
#      page size 100 and at its default (the largest page, 1000),
#   2. a bytes-only loop: one keep-alive connection, the pages at limit
#      1000 read as bytes, only the `next` link looked for (the limit),
#   3. `openstack image list -f json` (python-openstackclient),
#   4. openstacksdk's `list(conn.image.images())`,
# and the newest image: `latest` (one sorted request) against listing
# everything; each run RUNS times (default 3), wall-clock time of the whole
# command.
# The server is the one serve.sh runs (no Keystone: the OpenStack tools use
# `--os-auth-type none --os-endpoint URL`); the images are records only
# (status queued), created through the API.
#
# Usage: scripts/real-glance/bench.sh [DIR] [N] [RUNS]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR=${1:-$ROOT/target/real-glance}
N=${2:-5000}
RUNS=${3:-3}
OSC_VERSION=10.5.0
SDK_VERSION=4.22.0

"$HERE/install.sh" "$DIR"
DIR=$(cd "$DIR" && pwd)
PY="$DIR/venv/bin/python"
if ! "$PY" -c 'import openstackclient, openstack' >/dev/null 2>&1; then
    echo "bench: pip install python-openstackclient==$OSC_VERSION openstacksdk==$SDK_VERSION"
    "$PY" -m pip install --quiet --disable-pip-version-check -c "$HERE/constraints.txt" \
        "python-openstackclient==$OSC_VERSION" "openstacksdk==$SDK_VERSION"
fi

echo "bench: building the imagecat example (release)"
(cd "$ROOT" && cargo build --quiet --release -p imagecat-glance --example list)
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
IMAGECAT="$TARGET_DIR/release/examples/list"

PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
STATE="$DIR/bench-state"
URL="http://127.0.0.1:$PORT"
GLANCE_WORKERS=${GLANCE_WORKERS:-2} setsid "$HERE/serve.sh" "$DIR" "$PORT" "$STATE" >"$DIR/bench-serve.log" 2>&1 &
SERVER=$!
trap 'kill -TERM -- -$SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
    if "$PY" -c "import urllib.request,sys; urllib.request.urlopen('$URL/versions', timeout=2)" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$SERVER" 2>/dev/null; then echo "bench: the server died:" >&2; tail -n 30 "$DIR/bench-serve.log" >&2; exit 1; fi
    sleep 0.2
done

echo "bench: seeding $N images at $URL"
start=$(date +%s.%N)
"$PY" - "$URL" "$N" <<'PYEOF'
import json, sys, time, urllib.error, urllib.request
from concurrent.futures import ThreadPoolExecutor
url, n = sys.argv[1], int(sys.argv[2])
def create(i):
    body = json.dumps({"name": f"bench-{i:05d}", "disk_format": "qcow2", "container_format": "bare",
                       "visibility": "private" if i % 3 else "public", "os_type": "linux",
                       "description": f"benchmark image {i}"}).encode()
    req = urllib.request.Request(url + "/v2/images", data=body, method="POST",
                                 headers={"Content-Type": "application/json"})
    # SQLite may answer 500 (database locked) on a loaded machine: retry;
    # the failed insert was rolled back, so no image is created twice.
    for attempt in range(10):
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                assert r.status == 201, r.status
                return
        except urllib.error.HTTPError as e:
            if e.code != 500 or attempt == 9:
                raise
            time.sleep(0.2 * (attempt + 1))
with ThreadPoolExecutor(4) as pool:
    list(pool.map(create, range(n)))
PYEOF
echo "bench: seeded in $("$PY" -c "print(round($(date +%s.%N) - $start, 1))") s"

timeit() {
    local label=$1; shift
    local times=()
    for _ in $(seq 1 "$RUNS"); do
        local t0 t1 count
        t0=$(date +%s.%N)
        count=$("$@")
        t1=$(date +%s.%N)
        times+=("$("$PY" -c "print(round($t1 - $t0, 3))")")
        if [ "$count" != "$N" ]; then echo "bench: $label listed $count images, expected $N" >&2; exit 1; fi
    done
    printf '%-44s %s images; seconds: %s\n' "$label" "$N" "${times[*]}"
}

bytes_count() {
    "$PY" - "$URL" <<'PYEOF'
import http.client, re, sys, urllib.parse
url = urllib.parse.urlsplit(sys.argv[1])
conn = http.client.HTTPConnection(url.hostname, url.port)
path, count = "/v2/images?limit=1000", 0
while path:
    conn.request("GET", path)
    body = conn.getresponse().read()
    count += body.count(b'"self": "/v2/images/')
    m = re.search(rb'"next": "([^"]+)"', body)
    path = m.group(1).decode() if m else None
print(count)
PYEOF
}
imagecat_count() { "$IMAGECAT" "$URL" --json "$@" 2>/dev/null | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
osc_count() { "$DIR/venv/bin/openstack" --os-auth-type none --os-endpoint "$URL" image list -f json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
sdk_count() {
    "$PY" -c "
import openstack
conn = openstack.connection.Connection(auth_type='none', auth={'endpoint': '$URL'})
print(len(list(conn.image.images())))"
}

echo
echo "bench: listing $N images, $RUNS runs each (wall clock of the whole command)"
timeit "imagecat (page size 100)" imagecat_count --page-size 100
timeit "imagecat (default page size, 1000)" imagecat_count
timeit "bytes only, limit 1000 (python http.client)" bytes_count
timeit "openstack image list -f json" osc_count
timeit "openstacksdk conn.image.images()" sdk_count

echo
echo "bench: the newest image, $RUNS runs each"
N=1
timeit "imagecat latest (sort_key=created_at, limit=1)" imagecat_count --latest
timeit "imagecat list everything, newest on the client" imagecat_count --newest-by-listing
