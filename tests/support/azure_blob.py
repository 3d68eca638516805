"""Azure Blob Storage requests for the azurerm tests, signed with the account's shared key,
against Azurite on a loopback port (path-style URLs).

    python3 azure_blob.py PORT ACCOUNT KEY create-container CONTAINER
    python3 azure_blob.py PORT ACCOUNT KEY get CONTAINER BLOB        (the blob's bytes)
    python3 azure_blob.py PORT ACCOUNT KEY lease CONTAINER BLOB      (its lease state)
    python3 azure_blob.py PORT ACCOUNT KEY list CONTAINER            (blob names, one a line)
"""
import base64
import email.utils
import hashlib
import hmac
import http.client
import re
import sys
import urllib.parse

port, account, key, command = int(sys.argv[1]), sys.argv[2], base64.b64decode(sys.argv[3]), sys.argv[4]
args = sys.argv[5:]


def request(method, path, query):
    headers = {"x-ms-date": email.utils.formatdate(usegmt=True), "x-ms-version": "2020-10-02"}
    canonical_headers = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()))
    resource = f"/{account}/{account}{path}" + "".join(f"\n{k}:{v}" for k, v in sorted(query.items()))
    to_sign = method + "\n" * 12 + canonical_headers + resource
    signature = base64.b64encode(hmac.new(key, to_sign.encode(), hashlib.sha256).digest()).decode()
    headers["Authorization"] = f"SharedKey {account}:{signature}"
    headers["Content-Length"] = "0"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    url = urllib.parse.quote(f"/{account}{path}") + ("?" + urllib.parse.urlencode(query) if query else "")
    conn.request(method, url, headers=headers)
    response = conn.getresponse()
    body = response.read()
    if response.status >= 300:
        sys.exit(f"{method} {url}: {response.status} {body[:300]!r}")
    return response, body


if command == "create-container":
    request("PUT", f"/{args[0]}", {"restype": "container"})
elif command == "get":
    _, body = request("GET", f"/{args[0]}/{args[1]}", {})
    sys.stdout.buffer.write(body)
elif command == "lease":
    response, _ = request("HEAD", f"/{args[0]}/{args[1]}", {})
    print(response.getheader("x-ms-lease-state"))
elif command == "list":
    _, body = request("GET", f"/{args[0]}", {"restype": "container", "comp": "list"})
    for name in re.findall(r"<Name>([^<]*)</Name>", body.decode()):
        print(name)
else:
    sys.exit(f"unknown command {command}")
