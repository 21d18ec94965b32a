"""Refusals decided on a request's headers alone, before a byte of its body is read.

Only the publishing API takes request bodies, and only with a write token. So a request that
declares a body (a Content-Length above zero, or a chunked body) is refused at once when:

- it is not for the API (413: no page takes a body), except the ActivityPub inboxes when the
  fediverse is on: those take signed bodies of at most ``INBOX_MAX_BODY`` bytes without a
  token (the inbox checks the HTTP signature once the body is read);
- its bearer token is missing, unknown or revoked (401), or read-only (403);
- its Content-Length is over ``MAX_CONTENT_LENGTH`` (413).

``server.py`` asks this gate as soon as waitress has parsed the headers, in waitress's I/O
thread: a WSGI layer would be too late there, because waitress calls the application only
once it holds the whole body (spooled to disk beyond 512 KiB). The gate is an early refusal,
never an acceptance: what it lets through is authenticated again by the API itself, so when
the database cannot answer (locked, missing) the request simply goes on to the API.
"""

from __future__ import annotations

import hmac
import re
import sqlite3
from dataclasses import dataclass, field

from .store import Store, token_hash

API_PREFIX = "/api"
# Methods of the API that write (and so need a write token); any other method with a body
# needs a valid token too, since no public route reads a body.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CHALLENGE = 'Bearer realm="syndicate"'
# The fediverse's inboxes (syndicate/fediverse/views.py) and the largest activity they read.
INBOX_PATH = re.compile(r"/ap/(?:inbox|site/inbox|(?:category|author)/[^/]+/inbox)")
INBOX_MAX_BODY = 256 * 1024


@dataclass(frozen=True)
class Refusal:
    """An answer given instead of reading the body: a status, a message for the client, and
    headers (the bearer challenge of a 401)."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


class HeaderGate:
    """The checks above, for one database and one body limit. Not thread-safe: waitress calls
    it from its single I/O thread, which also owns the gate's own database connection."""

    def __init__(self, database: str, max_content_length: int, *, inboxes: bool = False) -> None:
        self.database = database
        self.max_content_length = max_content_length
        self.inboxes = inboxes  # FEDIVERSE_ENABLED: the inboxes take signed bodies
        self._store: Store | None = None

    def check(self, method: str, path: str, content_length: int, chunked: bool, authorization: str) -> Refusal | None:
        """The refusal for a request with these headers, or None to let it through."""
        if content_length <= 0 and not chunked:
            return None  # no body: nothing to protect; the application decides
        if self.inboxes and INBOX_PATH.fullmatch(path):
            if content_length > INBOX_MAX_BODY:
                return Refusal(413, f"an activity is at most {INBOX_MAX_BODY} bytes")
            return None  # authenticated by its HTTP signature, in the application
        if not is_api_path(path):
            return Refusal(413, "this address does not take a request body")
        scheme, _, secret = authorization.partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            return Refusal(
                401, "a bearer token is required (Authorization: Bearer <token>)", {"WWW-Authenticate": _CHALLENGE}
            )
        scope = self._token_scope(secret)
        if scope is None:
            invalid = f'{_CHALLENGE}, error="invalid_token"'
            return Refusal(401, "the token is unknown or revoked", {"WWW-Authenticate": invalid})
        if method.upper() in WRITE_METHODS and scope == "read":
            return Refusal(403, "this token is read-only")
        if content_length > self.max_content_length:
            return Refusal(413, f"the request body is larger than {self.max_content_length} bytes")
        return None

    def _token_scope(self, secret: str) -> str | None:
        """'write' or 'read' for a live token; None when unknown or revoked; 'unknown' when
        the database cannot answer (the API will check again)."""
        digest = token_hash(secret)
        try:
            if self._store is None:
                self._store = Store(self.database)
                # This runs in waitress's only I/O thread: never wait on a lock for long (in WAL
                # mode a reader rarely has to); the API's own check is the fallback.
                self._store.conn.execute("PRAGMA busy_timeout = 50")
            row = self._store.token_by_hash(digest)
        except sqlite3.Error:
            self.close()
            return "unknown"
        if row is None or not hmac.compare_digest(row["token_hash"], digest):
            return None
        return row["scope"]

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
