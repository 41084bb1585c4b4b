"""A tiny loopback HTTP listener for the SDK scripts: records each request and answers
with the body a test queued for it (JSON or SSE). Loopback only; stops with the script."""

import http.server
import json
import threading


class Listener:
    def __init__(self):
        self.requests = []
        self.answers = []  # (status, content_type, body bytes), served in order
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(n)
                listener.requests.append(
                    {"method": "POST", "path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                status, ctype, payload = listener.answers.pop(0)
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, body, content_type="application/json", status=200):
        if isinstance(body, str):
            body = body.encode()
        self.answers.append((status, content_type, body))

    def close(self):
        self.server.shutdown()
