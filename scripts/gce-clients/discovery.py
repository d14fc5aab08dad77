"""Drives a GCE Compute v1 endpoint with google-api-python-client, the
discovery-document client (httplib2; the static copy of compute v1 in its
wheel), and prints one line per result, for the GCE emulator's fidelity
test (crates/imagecat-emulators/tests/integration/gce_fidelity.rs).

Usage: python discovery.py HOST:PORT PROJECT TOKEN

The emulator must hold golden-v1 (family golden), golden-v2 (family
golden), base-1 and old-1 (deprecated), and accept TOKEN.
"""

import sys

from google.oauth2.credentials import Credentials
from googleapiclient import discovery, errors


def main():
    host, project, token = sys.argv[1:4]
    compute = discovery.build(
        "compute",
        "v1",
        credentials=Credentials(token=token),
        client_options={"api_endpoint": f"http://{host}/compute/v1/"},
        static_discovery=True,
        cache_discovery=False,
    )
    images = compute.images()

    # list, paged with list_next.
    names, pages = [], 0
    request = images.list(project=project, maxResults=3)
    while request is not None:
        response = request.execute()
        pages += 1
        names += [i["name"] for i in response.get("items", [])]
        request = images.list_next(request, response)
    print("list", ",".join(names), pages)
    regex = images.list(project=project, filter='name eq "golden-v[0-9]+"').execute()
    print("filter", ",".join(i["name"] for i in regex.get("items", [])))

    print("get", images.get(project=project, image="golden-v1").execute()["family"])
    print("family", images.getFromFamily(project=project, family="golden").execute()["name"])

    op = images.deprecate(
        project=project, image="golden-v2", body={"state": "OBSOLETE"}
    ).execute()
    print("deprecate", op["operationType"], op["status"])
    print("family-after", images.getFromFamily(project=project, family="golden").execute()["name"])

    op = images.delete(project=project, image="base-1").execute()
    done = compute.globalOperations().wait(project=project, operation=op["name"]).execute()
    print("delete", done["status"])
    try:
        images.get(project=project, image="base-1").execute()
        print("get-deleted found")
    except errors.HttpError as e:
        print("get-deleted", e.resp.status, e.error_details[0]["reason"])


if __name__ == "__main__":
    main()
