"""Requests with headers that cannot change a public page's bytes, answered from the entry by
the fast path (``middleware.ResponseCache`` is an ``Answers``), in RFC 9110 §13.2.2 order:

- ``Cookie``: ignored (the site sets none and no page reads one; the canonical render never
  sees it); only an entry that says ``Vary: Cookie`` sends the request to Flask with it.
- ``If-Match`` / ``If-Unmodified-Since``: 412 when they fail, else the entry.
- ``Range`` (GET): one byte range of the uncompressed body as 206, 416 beyond its end; several
  ranges, a non-bytes unit or a stale ``If-Range`` get the whole body (RFC 9110 §14.2 allows it).
- ``A-IM: feed`` (RFC 3229): the delta the view (the feeds' one) renders for the client's
  version (``If-None-Match``), kept in a small LRU beside the entries and rendered one at a
  time per process; a request that would have to wait for another delta's render, or that names
  no version the view knows, gets the whole document from the entry (RFC 3229 allows it), so
  made-up versions cost at most one thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from .. import security
from ..lru import LRU
from ..negotiation import NO_STORE
from .entries import StoredResponse
from .validators import UNSATISFIABLE, byte_range, precondition_fails

# Headers ``answer`` looks at before the plain hit path (which handles If-None-Match and
# If-Modified-Since itself).
ANSWERED_HEADERS = frozenset({"HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE", "HTTP_RANGE", "HTTP_A_IM", "HTTP_COOKIE"})
# What an RFC 3229 delta depends on beyond the entry's key, kept when the feed view renders one.
DELTA_HEADERS = ("HTTP_A_IM", "HTTP_IF_NONE_MATCH")
DELTA_WAIT = 0.05  # seconds a delta request waits for the one being rendered before taking the feed


class Answers:
    """The answers above; mixed into ``ResponseCache``, which provides ``app`` (Flask) and
    ``render``."""

    app: Callable
    render: Callable

    def init_answers(self, config: Any, size: int) -> None:
        # RFC 3229 deltas: (key, If-None-Match) -> (etag, status, headers, body), or (etag,)
        # when the view answered the whole feed.
        self.deltas: LRU[tuple[str, str], tuple] = LRU(max(16, size // 8))
        self._delta_render = threading.Lock()
        policy = config.get("CONTENT_SECURITY_POLICY") or security.CONTENT_SECURITY_POLICY
        self.error_headers = list(security.security_headers(policy).items())

    def answer(
        self,
        entry: StoredResponse,
        outcome: str,
        key: str,
        query: str,
        environ: dict[str, Any],
        start_response: Callable,
    ) -> Iterable[bytes] | None:
        """The answer to a request with a Cookie, a precondition, a Range or A-IM, in RFC 9110
        §13.2.2 order; None when the plain hit path should answer (a 304 or the whole body)."""
        if "HTTP_COOKIE" in environ and "cookie" in entry.vary.lower():
            return self.app(environ, start_response)  # a page that says it depends on cookies
        if ("HTTP_IF_MATCH" in environ or "HTTP_IF_UNMODIFIED_SINCE" in environ) and precondition_fails(
            environ.get("HTTP_IF_MATCH"), environ.get("HTTP_IF_UNMODIFIED_SINCE"), entry.etag, entry.last_modified
        ):
            return self._refuse(environ, start_response, "412 Precondition Failed", outcome)
        if entry.not_modified(environ):
            return None
        if "HTTP_A_IM" in environ:
            delta = self.delta(entry, outcome, key, query, environ, start_response)
            if delta is not None:
                return delta
        if "HTTP_RANGE" in environ and environ["REQUEST_METHOD"] == "GET":
            return self.ranged(entry, outcome, environ, start_response)
        return None

    def ranged(
        self, entry: StoredResponse, outcome: str, environ: dict[str, Any], start_response: Callable
    ) -> Iterable[bytes] | None:
        """206 with one byte range of the uncompressed body (ranges of a compressed body would
        share its ETag with the other codings), 416 beyond its end, None for the whole body."""
        body = entry.bodies["identity"]
        span = byte_range(
            environ["HTTP_RANGE"], environ.get("HTTP_IF_RANGE"), entry.etag, entry.last_modified, len(body)
        )
        if span is None:
            return None
        if span == UNSATISFIABLE:
            return self._refuse(
                environ,
                start_response,
                "416 Range Not Satisfiable",
                outcome,
                [("Content-Range", f"bytes */{len(body)}")],
            )
        start, stop = span
        headers = [(k, v) for k, v in entry.headers[("identity", outcome)] if k != "Content-Length"]
        headers += [("Content-Range", f"bytes {start}-{stop - 1}/{len(body)}"), ("Content-Length", str(stop - start))]
        start_response("206 Partial Content", headers)
        return [body[start:stop]]

    def delta(
        self,
        entry: StoredResponse,
        outcome: str,
        key: str,
        query: str,
        environ: dict[str, Any],
        start_response: Callable,
    ) -> Iterable[bytes] | None:
        """An RFC 3229 feed delta for the client's version (If-None-Match), rendered by the feed
        view once per version and content, one render at a time; None for the whole feed."""
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if not if_none_match or "feed" not in _im_tokens(environ["HTTP_A_IM"]):
            return None
        slot = (key, if_none_match)
        known = self.deltas.get(slot)
        if known is None or known[0] != entry.etag:
            # One at a time: a flood of made-up versions costs one thread, never the site.
            if not self._delta_render.acquire(timeout=DELTA_WAIT):
                return None
            try:
                known = self.deltas.get(slot)
                if known is None or known[0] != entry.etag:
                    known = self._render_delta(entry.etag, query, key, environ)
                    self.deltas.put(slot, known)
                    outcome = "miss"
            finally:
                self._delta_render.release()
        if len(known) == 1:
            return None  # the view had no delta for this version: the whole feed
        _etag, status, headers, body = known
        start_response(status, [*headers, ("X-Cache", outcome)])
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]

    def _render_delta(self, etag: str, query: str, key: str, environ: dict[str, Any]) -> tuple:
        status, headers, body, _shown = self.render(environ, query, key, keep=DELTA_HEADERS)
        if not status.startswith("226"):
            return (etag,)
        headers = [(k, v) for k, v in headers if k.lower() != "x-cache"]
        return etag, status, headers, body

    def _refuse(
        self, environ: dict[str, Any], start_response: Callable, status: str, outcome: str, extra: Iterable = ()
    ) -> Iterable[bytes]:
        """A short plain-text answer made here (412, 416)."""
        body = status.encode()
        headers = [
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", NO_STORE),
            *extra,
            *self.error_headers,
            ("X-Cache", outcome),
        ]
        start_response(status, headers)
        return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]


def _im_tokens(a_im: str) -> list[str]:
    """The instance-manipulations an ``A-IM`` header asks for (RFC 3229 §10.5.3)."""
    return [token.split(";")[0].strip().lower() for token in a_im.split(",")]
