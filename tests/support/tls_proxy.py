"""A CONNECT proxy that terminates TLS for a test: terraform's gcs and azurerm backends (1.0.3)
reach fixed HTTPS hosts (storage.googleapis.com, <account>.blob.core.windows.net), so the
tests point HTTPS_PROXY here and SSL_CERT_FILE at a CA made for the test; every tunnel is
answered with a certificate for the requested host signed by that CA, and its plain HTTP
is relayed to the storage emulator on a loopback port.

    python3 tls_proxy.py LISTEN_PORT TARGET_PORT CERT KEY
"""
import socket
import ssl
import sys
import threading

listen_port, target_port, cert, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
context.set_alpn_protocols(["http/1.1"])


def relay(source, sink):
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def handle(client):
    head = b""
    while b"\r\n\r\n" not in head:
        data = client.recv(4096)
        if not data:
            client.close()
            return
        head += data
    if not head.startswith(b"CONNECT "):
        client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
        client.close()
        return
    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    try:
        tls = context.wrap_socket(client, server_side=True)
        upstream = socket.create_connection(("127.0.0.1", target_port))
    except (OSError, ssl.SSLError):
        client.close()
        return
    threading.Thread(target=relay, args=(tls, upstream), daemon=True).start()
    relay(upstream, tls)


server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", listen_port))
server.listen(64)
while True:
    conn, _ = server.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
