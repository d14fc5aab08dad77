"""Drives a GCE Compute v1 endpoint with Google's own Python client
(google-cloud-compute, REST transport) and prints one line per result,
for the GCE emulator's fidelity test to assert on
(crates/imagecat-emulators/tests/integration/gce_fidelity.rs).

Usage: python fidelity.py HOST:PORT PROJECT TOKEN

The emulator must hold images golden-v1 (family golden, label team=infra),
golden-v2 (family golden) and base-1, answer Operations DONE at once, and
accept TOKEN as a bearer token.
"""

import sys

from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.cloud import compute_v1
from google.oauth2.credentials import Credentials


def main():
    host, project, token = sys.argv[1:4]
    options = ClientOptions(api_endpoint=f"http://{host}")
    creds = Credentials(token=token)
    images = compute_v1.ImagesClient(credentials=creds, client_options=options, transport="rest")
    operations = compute_v1.GlobalOperationsClient(
        credentials=creds, client_options=options, transport="rest"
    )

    # list, two images a page: the pager follows nextPageToken.
    pager = images.list(request=compute_v1.ListImagesRequest(project=project, max_results=2))
    names = [image.name for image in pager]
    print("list", ",".join(names))
    pages = images.list(request=compute_v1.ListImagesRequest(project=project, max_results=2)).pages
    print("pages", sum(1 for _ in pages))
    filtered = images.list(
        request=compute_v1.ListImagesRequest(project=project, filter='labels.team = "infra"')
    )
    print("filter", ",".join(image.name for image in filtered))

    # get and get_from_family.
    image = images.get(project=project, image="golden-v1")
    print("get", image.name, image.id, image.family, image.disk_size_gb, dict(image.labels))
    print("family", images.get_from_family(project=project, family="golden").name)

    # deprecate: the ExtendedOperation is DONE at once.
    status = compute_v1.DeprecationStatus(
        state="DEPRECATED",
        replacement=f"https://www.googleapis.com/compute/v1/projects/{project}/global/images/golden-v1",
    )
    op = images.deprecate(project=project, image="golden-v2", deprecation_status_resource=status)
    op.result(timeout=30)
    print("deprecate", op.done(), images.get(project=project, image="golden-v2").deprecated.state)
    print("family-after", images.get_from_family(project=project, family="golden").name)

    # setLabels with a stale fingerprint: 412.
    try:
        images.set_labels(
            project=project,
            resource="golden-v1",
            global_set_labels_request_resource=compute_v1.GlobalSetLabelsRequest(
                labels={"a": "b"}, label_fingerprint="c3RhbGU="
            ),
        ).result(timeout=30)
        print("setlabels accepted")
    except exceptions.PreconditionFailed as e:
        print("setlabels", e.code, e.errors[0]["reason"])

    # delete through delete_unary, then the operation waited for.
    unary = images.delete_unary(project=project, image="base-1")
    waited = operations.wait(project=project, operation=unary.name)
    print("delete", unary.operation_type, waited.status.name)
    try:
        images.get(project=project, image="base-1")
        print("get-deleted found")
    except exceptions.NotFound as e:
        print("get-deleted", e.code, e.errors[0]["reason"])


if __name__ == "__main__":
    main()
