"""Running Syndicate under waitress: the server settings in one place, plus one fix.

waitress 3.0 closes the connection after every response without a body that carries no
Content-Length (304 Not Modified, 204), although HTTP/1.1 lets such a response end at its
headers. Feed readers revalidate with conditional requests all day, so every 304 would cost
them a new TCP connection. The task class below keeps those connections open; everything
else is waitress's own behaviour.
"""

from __future__ import annotations

from typing import Any

import waitress
from waitress.channel import HTTPChannel
from waitress.task import WSGITask


class _BodylessKeepAliveTask(WSGITask):
    def set_close_on_finish(self) -> None:
        if (
            not self.wrote_header
            and not self.has_body
            and self.version == "1.1"
            and self.request.headers.get("CONNECTION", "").lower() != "close"
        ):
            return  # a 304/204 needs no length to be delimited: keep the connection
        super().set_close_on_finish()


class _Channel(HTTPChannel):
    task_class = _BodylessKeepAliveTask


def create_server(app: Any, host: str = "127.0.0.1", port: int = 8000, threads: int = 8, **settings: Any):
    """A waitress server for ``app`` (any WSGI app) with our settings and the keep-alive fix.
    The benchmarks use this same function for their bare-WSGI floor, so ratios compare like
    with like."""
    server = waitress.create_server(app, host=host, port=port, threads=threads, ident="Syndicate", **settings)
    server.channel_class = _Channel
    return server


def serve(app: Any, host: str, port: int, threads: int, **settings: Any) -> None:
    server = create_server(app, host=host, port=port, threads=threads, **settings)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
