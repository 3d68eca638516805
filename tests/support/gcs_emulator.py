"""gcp-storage-emulator, with the write preconditions of Cloud Storage that terraform's gcs
backend locks with: the emulator accepts `ifGenerationMatch` and ignores it, so two runs
would both "create" a state's lock object. Here an upload with `ifGenerationMatch=0`
succeeds only while the object does not exist, an upload or delete with
`ifGenerationMatch=N` only while the object's generation is N, and anything else is
answered 412 Precondition Failed, as Cloud Storage answers it. The check and the write are
one step under a lock, so two racing requests cannot both pass.

Given a service account's public key, it also answers Google's OAuth 2.0 token endpoint
(`POST /token`, reached as oauth2.googleapis.com through the test's TLS proxy) the way
Google does for a service account key: a JWT bearer grant whose assertion is signed with
that account's private key (RS256, checked with openssl) gets an access token; and then
every storage request must carry that token, or is answered 401.

    python3 gcs_emulator.py PORT BUCKET [SERVICE_ACCOUNT_PUBLIC_KEY_PEM]

Run with the emulator's own interpreter (its venv), which has the package.
"""
import base64
import json
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http import HTTPStatus

from gcp_storage_emulator.exceptions import NotFound
from gcp_storage_emulator.handlers import objects

PRECONDITION_FAILED = {
    "error": {
        "code": 412,
        "message": "At least one of the pre-conditions you specified did not hold.",
        "errors": [
            {
                "domain": "global",
                "reason": "conditionNotMet",
                "message": "At least one of the pre-conditions you specified did not hold.",
                "locationType": "header",
                "location": "If-Match",
            }
        ],
    }
}

# One write at a time among the requests that carry a precondition.
guard = threading.Lock()


def wanted_generation(request):
    values = request.query.get("ifGenerationMatch")
    return int(values[0]) if values else None


def current_generation(storage, bucket, name):
    """The object's generation, 0 when it does not exist (Cloud Storage's convention)."""
    try:
        return int(storage.get_file_obj(bucket, name).get("generation") or 0)
    except NotFound:
        return 0


def uploaded_name(request):
    """The object an insert writes: the query's `name`, else the metadata's."""
    if "name" in request.query:
        return request.query["name"][0]
    data = request.data
    if isinstance(data, dict):
        meta = data.get("meta")
        if isinstance(meta, dict):
            return meta.get("name")
        return data.get("name")
    return None


def refuse(response):
    response.status = HTTPStatus.PRECONDITION_FAILED
    response.json(PRECONDITION_FAILED)


def conditional(handler, name_of):
    def wrapped(request, response, storage, *args, **kwargs):
        want = wanted_generation(request)
        if want is None:
            return handler(request, response, storage, *args, **kwargs)
        bucket = request.params["bucket_name"]
        with guard:
            if current_generation(storage, bucket, name_of(request)) != want:
                return refuse(response)
            return handler(request, response, storage, *args, **kwargs)

    return wrapped


# The router looks handlers up in this module when it is imported: patch them first.
objects.insert = conditional(objects.insert, uploaded_name)
objects.delete = conditional(objects.delete, lambda request: request.params["object_id"])

from gcp_storage_emulator import server as emulator  # noqa: E402

port, bucket = int(sys.argv[1]), sys.argv[2]
public_key = sys.argv[3] if len(sys.argv) > 3 else None
# The tests' own look at the bucket (tests/support/cloud.rs) carries this one.
issued = {"strata-test-inspector"}


def b64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signed_by_the_account(assertion):
    """Whether the JWT is RS256-signed with the service account's key, for storage."""
    try:
        head, claims, signature = assertion.split(".")
        if json.loads(b64url(head)).get("alg") != "RS256":
            return False
        scope = json.loads(b64url(claims)).get("scope", "")
        with tempfile.TemporaryDirectory() as tmp:
            with open(f"{tmp}/signed", "w") as f:
                f.write(f"{head}.{claims}")
            with open(f"{tmp}/signature", "wb") as f:
                f.write(b64url(signature))
            checked = subprocess.run(
                ["openssl", "dgst", "-sha256", "-verify", public_key, "-signature",
                 f"{tmp}/signature", f"{tmp}/signed"],
                capture_output=True,
            )
        return checked.returncode == 0 and "devstorage" in scope
    except (ValueError, OSError):
        return False


def answer(handler, status, body):
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def authorised(method):
    def wrapped(self):
        if public_key is None:
            return method(self)
        if self.path.startswith("/token"):
            length = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            grant = form.get("grant_type", [""])[0]
            assertion = form.get("assertion", [""])[0]
            if grant != "urn:ietf:params:oauth:grant-type:jwt-bearer" or not signed_by_the_account(assertion):
                return answer(self, 400, {"error": "invalid_grant"})
            token = "ya29.issued-" + secrets.token_hex(12)
            issued.add(token)
            return answer(self, 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})
        bearer = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if bearer not in issued:
            return answer(self, 401, {"error": {"code": 401, "message": "Invalid Credentials"}})
        return method(self)

    return wrapped


for verb in ("do_GET", "do_POST", "do_PUT", "do_DELETE", "do_PATCH"):
    setattr(emulator.RequestHandler, verb, authorised(getattr(emulator.RequestHandler, verb)))

server = emulator.create_server("127.0.0.1", port, in_memory=True, default_bucket=bucket)
server.start()
try:
    while True:
        time.sleep(1)
finally:
    server.stop()
