"""``rqjobs exporter``: one process that reports the whole cluster to Prometheus.

The metrics of :mod:`rqjobs.metrics` are read from Redis at scrape time, so they are the same
from any process. Served from every API replica (the Flask blueprint's ``/api/jobs/metrics``),
N pods give N copies of each series, and an alert on ``rq_jobs`` fires once per pod. Run one
exporter instead (rq-exporter's model: its own port, rq-exporter's metric names), scrape it
alone, and keep the per-pod endpoint for per-process questions only.

``GET /metrics`` answers the Prometheus text exposition; ``GET /health`` answers ``ok``
(the exporter's own liveness, not Redis's: ``rqjobs_redis_up`` says that). Each scrape costs
what :class:`rqjobs.metrics.RQJobsCollector` costs, under the runtime's one-call deadline.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional, Sequence

__all__ = ["serve_exporter", "make_exporter_server", "DEFAULT_PORT"]

log = logging.getLogger("rqjobs.exporter")

DEFAULT_PORT = 9726  # rq-exporter's default port


def make_exporter_server(
    host: str = "0.0.0.0", port: int = DEFAULT_PORT, queues: Optional[Sequence[str]] = None
) -> ThreadingHTTPServer:
    """An HTTP server (not started) that serves ``/metrics`` for ``queues`` (default: all)."""
    from .metrics import metrics_registry, render_metrics

    registry = metrics_registry(queues)
    lock = threading.Lock()  # one scrape at a time: a slow Redis must not pile up scrapes

    class Handler(BaseHTTPRequestHandler):
        server_version = "rqjobs-exporter"

        def do_GET(self) -> None:  # noqa: N802 - http.server's spelling
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                with lock:
                    body, content_type = render_metrics(registry)
                self._send(200, body, content_type)
            elif path in ("/health", "/healthz"):
                self._send(200, b"ok\n", "text/plain; charset=utf-8")
            else:
                self._send(404, b"not found: try /metrics\n", "text/plain; charset=utf-8")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            log.debug("%s %s", self.address_string(), format % args)

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve_exporter(
    host: str = "0.0.0.0", port: int = DEFAULT_PORT, queues: Optional[Sequence[str]] = None
) -> None:
    """Serve ``/metrics`` until interrupted (SIGINT/SIGTERM end it)."""
    server = make_exporter_server(host, port, queues)
    bound_host, bound_port = server.server_address[:2]
    log.info("rqjobs exporter listening on http://%s:%s/metrics", bound_host, bound_port)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()
