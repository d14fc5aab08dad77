#!/usr/bin/env python3
"""What a user would write instead of imagecat: page through a catalog with
the standard library only (urllib, json) and print one JSON object per image
(NDJSON), the same lines `imagecat -o ndjson list` prints.

    naive_list.py dcmgr http://127.0.0.1:PORT/api/12.03
    IMAGECAT_TOAST_TOKEN=emulator-token naive_list.py toast http://127.0.0.1:PORT/compute APPKEY

- DCMGR: offset paging, `GET {base}/images?start=S&limit=250&state=alive`
  until `start` reaches `total` or a page is empty (the 12.03 layout).
- TOAST: marker paging, `GET {base}/v1.0/appkeys/{appkey}/images?limit=1000
  [&marker=ID]` with the `X-Auth-Token` header, until a page is shorter than
  the limit; images whose status is deleted or pending_delete are skipped
  (imagecat lists them only when asked).

Used by the benchmark (crates/imagecat-bench) to time imagecat against it;
no retries, no checks beyond what json.loads does: the naive loop.
"""

import json
import os
import re
import sys
import urllib.parse
import urllib.request

DCMGR_PAGE = 250
TOAST_PAGE = 1000

DCMGR_STATUS = {
    "init": "queued",
    "pending": "queued",
    "creating": "saving",
    "available": "active",
    "deleted": "deleted",
}
GLANCE_STATUS = {
    "queued": "queued",
    "saving": "saving",
    "uploading": "saving",
    "importing": "saving",
    "active": "active",
    "deactivated": "deactivated",
    "killed": "failed",
    "deleted": "deleted",
    "pending_delete": "deleted",
}
DCMGR_KNOWN = {
    "id", "uuid", "display_name", "account_id", "state", "file_format", "md5sum",
    "arch", "description", "is_public", "created_at", "updated_at",
}
STAMP = re.compile(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?(?:Z| UTC)?$")


def compact(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def stamp(text):
    """A UTC timestamp as imagecat prints it: RFC 3339, Z, 0/3/6/9 fraction digits."""
    if not text:
        return None
    m = STAMP.match(text.strip())
    if not m:
        return text
    day, time, frac = m.groups()
    frac = (frac or "").ljust(9, "0")[:9]
    if frac == "000000000":
        frac = ""
    elif frac.endswith("000000"):
        frac = "." + frac[:3]
    elif frac.endswith("000"):
        frac = "." + frac[:6]
    else:
        frac = "." + frac
    return f"{day}T{time}{frac}Z"


def text(value):
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else compact(value)


def prop(value):
    """A property as imagecat keeps it: strings as they are, other JSON as text."""
    if isinstance(value, str):
        return value
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return compact(value)


def get_json(url, headers):
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def dcmgr(base, out):
    start = 0
    headers = {"Accept": "application/json"}
    while True:
        query = urllib.parse.urlencode({"start": start, "limit": DCMGR_PAGE, "state": "alive"})
        index = get_json(f"{base}/images?{query}", headers)
        if isinstance(index, list):
            index = index[0]
        results = index.get("results") or index.get("result") or []
        total = index.get("total", index.get("owner_total"))
        for doc in results:
            state = doc.get("state") or ""
            status = DCMGR_STATUS.get(state, "unknown")
            if status == "deleted":
                continue
            public = doc.get("is_public")
            properties = {
                k: prop(v) for k, v in doc.items() if k not in DCMGR_KNOWN and v is not None
            }
            out.write(compact({
                "id": doc["id"],
                "name": text(doc.get("display_name")),
                "status": status,
                "native_status": state,
                "visibility": None if public is None else ("public" if public else "private"),
                "owner": text(doc.get("account_id")),
                "created_at": stamp(doc.get("created_at")),
                "updated_at": stamp(doc.get("updated_at")),
                "size_bytes": None,
                "min_disk_gb": None,
                "min_ram_mb": None,
                "disk_format": text(doc.get("file_format")),
                "arch": text(doc.get("arch")),
                "checksum": text(doc.get("md5sum")),
                "os_hash_algo": None,
                "os_hash_value": None,
                "protected": None,
                "description": text(doc.get("description")),
                "properties": dict(sorted(properties.items())),
                "tags": [],
                "backend": "dcmgr",
            }))
            out.write("\n")
        start += len(results)
        if not results or (total is not None and start >= total):
            return


def toast(base, appkey, token, out):
    url = f"{base}/v1.0/appkeys/{urllib.parse.quote(appkey, safe='')}/images"
    headers = {"X-Auth-Token": token, "Accept": "application/json"}
    marker = None
    while True:
        params = {"limit": TOAST_PAGE}
        if marker is not None:
            params["marker"] = marker
        body = get_json(f"{url}?{urllib.parse.urlencode(params)}", headers)
        if not body["header"]["isSuccessful"]:
            sys.exit(f"naive_list: {body['header']}")
        images = body["images"]
        for doc in images:
            native = doc.get("status") or ""
            status = GLANCE_STATUS.get(native, "unknown")
            if status == "deleted":
                continue
            public = doc.get("isPublic")
            properties = {k: prop(v) for k, v in (doc.get("properties") or {}).items()}
            out.write(compact({
                "id": doc["id"],
                "name": doc.get("name"),
                "status": status,
                "native_status": native,
                "visibility": None if public is None else ("public" if public else "private"),
                "owner": None,
                "created_at": stamp(doc.get("createdAt")),
                "updated_at": stamp(doc.get("updatedAt")),
                "size_bytes": doc.get("size"),
                "min_disk_gb": doc.get("minDisk"),
                "min_ram_mb": doc.get("minRam"),
                "disk_format": doc.get("diskFormat"),
                "arch": properties.get("os_architecture"),
                "checksum": None,
                "os_hash_algo": None,
                "os_hash_value": None,
                "protected": doc.get("protected"),
                "description": properties.get("description"),
                "properties": dict(sorted(properties.items())),
                "tags": [],
                "backend": "toast",
            }))
            out.write("\n")
        if len(images) < TOAST_PAGE:
            return
        marker = images[-1]["id"]


def main(argv):
    out = sys.stdout
    if len(argv) == 3 and argv[1] == "dcmgr":
        dcmgr(argv[2].rstrip("/"), out)
    elif len(argv) == 4 and argv[1] == "toast":
        token = os.environ.get("IMAGECAT_TOAST_TOKEN", "")
        toast(argv[2].rstrip("/"), argv[3], token, out)
    else:
        sys.exit(__doc__)
    out.flush()


if __name__ == "__main__":
    main(sys.argv)
