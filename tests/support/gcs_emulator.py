"""gcp-storage-emulator, with the write preconditions of Cloud Storage that terraform's gcs
backend locks with: the emulator accepts `ifGenerationMatch` and ignores it, so two runs
would both "create" a state's lock object. Here an upload with `ifGenerationMatch=0`
succeeds only while the object does not exist, an upload or delete with
`ifGenerationMatch=N` only while the object's generation is N, and anything else is
answered 412 Precondition Failed, as Cloud Storage answers it. The check and the write are
one step under a lock, so two racing requests cannot both pass.

    python3 gcs_emulator.py PORT BUCKET

Run with the emulator's own interpreter (its venv), which has the package.
"""
import sys
import threading
import time
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

from gcp_storage_emulator.server import create_server  # noqa: E402

port, bucket = int(sys.argv[1]), sys.argv[2]
server = create_server("127.0.0.1", port, in_memory=True, default_bucket=bucket)
server.start()
try:
    while True:
        time.sleep(1)
finally:
    server.stop()
