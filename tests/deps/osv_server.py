"""A loopback OSV query server (POST /v1/query) answering from an OsvDatabase: what a local mirror serves.

Used by the online audit tests and by benchmarks/audit.py to run pip-audit against the same records.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from mlwarden.deps.osv import OsvDatabase


@contextmanager
def serve(database: OsvDatabase) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
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
            payload = json.dumps({"vulns": vulns} if vulns else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    finally:
        server.shutdown()
        server.server_close()
