"""A local stand-in for an OpenAI-compatible chat-completions server (no model: scripted replies).

    python tests/fake_llm_server.py RECORD_FILE      # prints the port it listens on, then serves

The request's ``model`` picks the behaviour:

- ``cite-stream``  streams "Espoo aims ... [1]." and a sentence citing a missing passage [99]
- ``cite-json``    the same answer as one JSON chat completion (no streaming)
- ``uncited``      a fluent answer without any citation marker
- ``obey``         "PWNED" (what a model that followed an injected instruction would say)
- ``slow``         waits 5 s before answering
- ``error``        HTTP 500
- ``garbage``      a 200 reply that is not JSON / a broken event stream
Every request body is appended to RECORD_FILE as one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOD = "Espoo aims to be carbon neutral by 2030 [1]. A claim about nothing [99]."


class Handler(BaseHTTPRequestHandler):
    record_file = ""

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        request = json.loads(body)
        with open(self.record_file, "a", encoding="utf-8") as fh:
            fh.write(
                json.dumps(
                    {"path": self.path, "auth": self.headers.get("Authorization"), "body": request}
                )
                + "\n"
            )
        model = request.get("model", "")
        if model == "slow":
            time.sleep(5)
            return self._json(GOOD)
        if model == "error":
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b'{"error": "boom"}')
            return None
        if model == "garbage":
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            self.wfile.write(b"data: {not json at all\n\n")
            return None
        text = {"uncited": "Espoo is doing many things for the climate.", "obey": "PWNED"}.get(
            model, GOOD
        )
        if model == "cite-json" or not request.get("stream"):
            return self._json(text)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for i in range(0, len(text), 7):
            event = {"choices": [{"index": 0, "delta": {"content": text[i : i + 7]}}]}
            self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
            self.wfile.flush()
            time.sleep(0.005)
        self.wfile.write(b"data: [DONE]\n\n")
        return None

    def _json(self, text: str) -> None:
        payload = json.dumps(
            {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def main() -> None:
    Handler.record_file = sys.argv[1]
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
