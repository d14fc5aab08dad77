"""Gets tokens the way Google's own auth library (google-auth, installed
with google-cloud-compute) does, from a GCE Compute endpoint's token
endpoint and metadata server, and lists images with each token; prints
one line per flow for the GCE emulator's fidelity test
(crates/imagecat-emulators/tests/integration/gce_fidelity.rs).

Usage: python auth.py HOST:PORT PROJECT

- service account: a key file made here (a fresh RSA key) whose token_uri
  is http://HOST:PORT/token; google-auth signs the JWT and exchanges it;
- self-signed: the same key given to the client, which sends its own JWT;
- metadata server: GCE_METADATA_HOST=HOST:PORT (google-auth's variable,
  read when it is imported, so the caller sets it).
"""

import os
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.api_core.client_options import ClientOptions
from google.auth import compute_engine
from google.auth.transport.requests import Request
from google.cloud import compute_v1
from google.oauth2 import service_account
from google.oauth2.credentials import Credentials


def list_names(host, project, creds):
    client = compute_v1.ImagesClient(
        credentials=creds,
        client_options=ClientOptions(api_endpoint=f"http://{host}"),
        transport="rest",
    )
    return ",".join(image.name for image in client.list(project=project))


def main():
    host, project = sys.argv[1:3]
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": f"sa@{project}.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": f"http://{host}/token",
    }
    sa = service_account.Credentials.from_service_account_info(
        info, scopes=["https://www.googleapis.com/auth/compute"]
    )
    sa.refresh(Request())
    # Listing with `sa` would make the generated client sign its own JWT
    # instead (below): list with the exchanged token.
    exchanged = Credentials(token=sa.token)
    print("service-account", sa.token.startswith("ya29."), list_names(host, project, exchanged))

    # The key itself: the generated client signs its own JWT (aud the
    # Compute service) and sends it as the bearer, with no exchange.
    direct = service_account.Credentials.from_service_account_info(info)
    print("self-signed", list_names(host, project, direct))

    # google-auth reads GCE_METADATA_HOST when imported: the caller sets it.
    if os.environ.get("GCE_METADATA_HOST") != host:
        sys.exit("set GCE_METADATA_HOST=HOST:PORT before running this script")
    md = compute_engine.Credentials()
    md.refresh(Request())
    print("metadata", md.token.startswith("ya29."), list_names(host, project, md))


if __name__ == "__main__":
    main()
