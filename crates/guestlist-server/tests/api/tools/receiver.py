"""A webhook receiver for the tests, verifying with an independent implementation of
Standard Webhooks: the `standardwebhooks` package from PyPI (scripts/test.sh installs
it in target/pyenv).

Listens on 127.0.0.1 (a free port, printed as the first line of stdout). Each path
under /hook/<name> is one receiver, configured by the test:

  POST /control/<name>  {"secrets": ["whsec_…", …], "script": [500, "hang", "reset", …],
                         "default": 200}

`script` answers the next requests in order (a status, "hang" for an answer later than
any timeout, "reset" to close the connection without an answer); then `default`.

  GET /received/<name>  -> every request received, in order: its webhook-id, the
                           indexes of the secrets whose signature verifies (checked
                           with each secret on its own), the verification error with
                           all of them, the parsed body, and what was answered.
"""

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

LOCK = threading.Lock()
RECEIVERS = {}


def receiver(name):
    with LOCK:
        return RECEIVERS.setdefault(
            name, {"secrets": [], "script": [], "default": 200, "received": []}
        )


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n)

    def answer(self, status, payload=b""):
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self):
        if self.path.startswith("/received/"):
            r = receiver(self.path[len("/received/"):])
            with LOCK:
                out = json.dumps(r["received"]).encode()
            self.answer(200, out)
        else:
            self.answer(404)

    def do_POST(self):
        data = self.body()
        if self.path.startswith("/control/"):
            r = receiver(self.path[len("/control/"):])
            conf = json.loads(data)
            with LOCK:
                for k in ("secrets", "script", "default"):
                    if k in conf:
                        r[k] = conf[k]
            self.answer(204)
            return
        if not self.path.startswith("/hook/"):
            self.answer(404)
            return
        r = receiver(self.path[len("/hook/"):])
        headers = {k: v for k, v in self.headers.items()}
        with LOCK:
            secrets = list(r["secrets"])
            action = r["script"].pop(0) if r["script"] else r["default"]
        verified_by = []
        for i, s in enumerate(secrets):
            try:
                Webhook(s).verify(data, headers)
                verified_by.append(i)
            except WebhookVerificationError:
                pass
        error = None
        try:
            body = json.loads(data)
        except ValueError as e:
            body, error = None, str(e)
        record = {
            "webhook_id": headers.get("webhook-id") or headers.get("Webhook-Id"),
            "verified_by": verified_by,
            "signatures": len((headers.get("webhook-signature") or "").split(" ")),
            "body": body,
            "error": error,
            "answered": action,
            "at": time.time(),
        }
        with LOCK:
            r["received"].append(record)
        if action == "hang":
            time.sleep(30)
            return
        if action == "reset":
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        headers_out = {}
        if isinstance(action, list):
            action, retry_after = action
            headers_out["retry-after"] = str(retry_after)
        self.send_response(int(action))
        for k, v in headers_out.items():
            self.send_header(k, v)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
    sys.exit(0)
