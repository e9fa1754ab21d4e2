"""Stand-ins on 127.0.0.1 for the services outside the machine, recording what they are sent."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from types import SimpleNamespace

# What each stand-in answers to an issue being created, as the real API does (trimmed).
CREATED = {
    "/repos/acme/shop/issues": {"number": 42, "html_url": "https://github.com/acme/shop/issues/42"},
    "/api/v4/projects/acme%2Fshop/issues": {
        "iid": 7,
        "web_url": "https://gitlab.com/acme/shop/-/issues/7",
    },
    "/rest/api/2/issue": {"id": "10001", "key": "OPS-12", "self": "https://x/rest/api/2/issue/1"},
}


@contextmanager
def tracker_stand_in() -> Iterator[SimpleNamespace]:
    """GitHub's, GitLab's and Jira's issue-creating calls in one server.

    Each call is recorded in `calls`; append HTTP status codes to `statuses` to make the next
    calls fail. Real trackers must be https at a public address: tests let 127.0.0.1 through
    with HINDSIGHT_TRACKER_ALLOW_LOCAL_TEST_SERVER.
    """
    calls: list[dict] = []
    statuses: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            calls.append({"path": self.path, "headers": dict(self.headers), "body": body})
            status = statuses.pop(0) if statuses else (201 if self.path in CREATED else 404)
            answer = json.dumps(CREATED.get(self.path, {"message": "Not Found"})).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield SimpleNamespace(
            url=f"http://127.0.0.1:{server.server_port}", calls=calls, statuses=statuses
        )
    finally:
        server.shutdown()
        server.server_close()
