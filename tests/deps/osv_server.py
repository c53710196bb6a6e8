"""Loopback servers: an OSV query server (POST /v1/query) answering from an OsvDatabase, what a local mirror
serves, and a JSON API for index answers (upload times).

Used by the online audit tests and by benchmarks/audit.py to run pip-audit against the same records.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mlwarden.deps.osv import OsvDatabase


class _Quiet(BaseHTTPRequestHandler):
    def reply(self, status: int, payload: bytes | None) -> None:
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload is not None:
            self.wfile.write(payload)

    def log_message(self, *_args: object) -> None:
        pass


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A loopback server on a free port for the block's duration; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_json(answer: Callable[[str], tuple[int, Any]]) -> Iterator[str]:
    """A loopback JSON API (a package index's, say): GET path -> ``answer(path)`` = (status, document or None)."""

    class Handler(_Quiet):
        def do_GET(self) -> None:
            status, document = answer(self.path)
            self.reply(status, None if document is None else json.dumps(document).encode())

    with _serving(Handler) as base:
        yield base


@contextmanager
def serve(database: OsvDatabase) -> Iterator[str]:
    class Handler(_Quiet):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            name = body["package"]["name"]
            hits = database.matches(name, body["version"])
            vulns = [{"id": a.id, "aliases": list(a.aliases), "details": a.summary,
                      "modified": "2024-01-01T00:00:00Z",
                      "affected": [{"package": {"name": name, "ecosystem": "PyPI"},
                                    "ranges": [{"type": "ECOSYSTEM",
                                                "events": [{"introduced": "0"}] + [{"fixed": f} for f in a.fixed]}]}]}
                     for a in hits]
            self.reply(200, json.dumps({"vulns": vulns} if vulns else {}).encode())

    with _serving(Handler) as base:
        yield f"{base}/v1/query"
