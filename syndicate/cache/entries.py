"""Cache entries: a rendered 200 turned into a ``StoredResponse`` with its validators, its
bodies compressed once (br, gzip, identity), and its header lists built once so a hit only
picks one; and the rule for which responses may be stored at all."""

from __future__ import annotations

import gzip
import hashlib
from typing import Any

from werkzeug.datastructures import ResponseCacheControl
from werkzeug.http import http_date, parse_cache_control_header, parse_date, parse_list_header

from ..negotiation import FEED_MEDIA_TYPES, OPML_MEDIA_TYPE, VARY_ENCODING, XML_MEDIA_TYPE, coding_preference
from .keys import ENTRY_FORMAT
from .validators import not_modified

try:  # brotli is a dependency, but a missing wheel must not take the site down
    import brotli
except ImportError:  # pragma: no cover
    brotli = None

# Content types worth storing: pages, feeds, sitemaps, robots.txt, OPML.
CACHEABLE_TYPES = (
    "text/html", XML_MEDIA_TYPE, "text/xml", *FEED_MEDIA_TYPES.values(), "text/plain", OPML_MEDIA_TYPE,
)  # fmt: skip
# Headers the cache manages itself or that belong to one connection, never stored.
NOT_STORED = {
    "content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive", "date",
    "server", "etag", "last-modified", "cache-control", "vary", "x-cache", "set-cookie", "age",
}  # fmt: skip
# Vary values a stored response may carry: requests with credentials never use the shared cache,
# and one with a cookie is sent to Flask when the entry varies on it (answers.py), so such a
# response is still the same for everybody else.
VARY_OK = {"accept-encoding", "accept", "cookie", "authorization"}
# RFC 9110 §15.4.5: a 304 carries the validators and caching headers, not the content's.
KEPT_ON_304 = ("content-location", "expires")
MAX_CODINGS_MEMO = 64  # distinct Accept-Encoding values remembered per entry
MIN_COMPRESS = 256
GZIP_LEVEL = 6
BROTLI_QUALITY = 9  # 11 costs ~15x the time for a few % smaller bodies; this runs on every miss


class StoredResponse:
    """One cached response, with its header lists built once so a hit only picks one."""

    __slots__ = (
        "stamp", "status", "stored", "etag", "last_modified", "cache_control", "vary", "bodies", "headers", "codings",
        "deps", "versions", "checked",
    )  # fmt: skip

    def __init__(
        self,
        stamp: str,
        status: str,
        stored: list[tuple[str, str]],
        etag: str,
        last_modified: str,
        cache_control: str,
        vary: str,
        bodies: dict[str, bytes],
        deps: tuple[str, ...] = (),
        versions: tuple[int, ...] = (),
    ) -> None:
        self.stamp = stamp  # the global part of what the entry must show (stamp.py)
        # What it shows (showing.py keys) and the generation each had when it was rendered;
        # ``checked``: the newest generation this process found it still fresh at.
        self.deps = deps
        self.versions = versions
        self.checked = -1
        self.status = status
        self.stored = stored
        self.etag = etag
        self.last_modified = last_modified
        self.cache_control = cache_control
        self.vary = vary
        self.bodies = bodies
        # Accept-Encoding value -> the coding to send (a few distinct values in practice).
        self.codings: dict[str, str] = {}
        validators = [
            ("ETag", etag),
            ("Last-Modified", last_modified),
            ("Cache-Control", cache_control),
            ("Vary", vary),
        ]
        extra_304 = [(k, v) for k, v in stored if k.lower() in KEPT_ON_304]
        self.headers: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.headers[("304", "revalidated")] = [*validators, *extra_304, ("X-Cache", "revalidated")]
        for outcome in ("hit", "miss"):
            x_cache = ("X-Cache", outcome)
            self.headers[("304", outcome)] = [*validators, *extra_304, x_cache]
            for coding, body in bodies.items():
                coding_header = [] if coding == "identity" else [("Content-Encoding", coding)]
                self.headers[(coding, outcome)] = [
                    *stored,
                    *validators,
                    *coding_header,
                    ("Content-Length", str(len(body))),
                    x_cache,
                ]

    def to_backend(self) -> tuple:
        return (
            ENTRY_FORMAT, self.stamp, self.status, self.stored, self.etag, self.last_modified,
            self.cache_control, self.vary, self.bodies, self.deps, self.versions,
        )  # fmt: skip

    @classmethod
    def from_backend(cls, value: Any) -> StoredResponse | None:
        if not isinstance(value, tuple) or len(value) != 11 or value[0] != ENTRY_FORMAT:
            return None
        return cls(*value[1:])

    def head(self) -> StoredResponse:
        """This entry without its bodies: enough to answer a revalidation (a 304), in a few
        hundred bytes (its key names are shared with every other entry's)."""
        head = StoredResponse.__new__(StoredResponse)
        head.stamp, head.status, head.stored = self.stamp, self.status, []
        head.etag, head.last_modified, head.cache_control, head.vary = (
            self.etag, self.last_modified, self.cache_control, self.vary,
        )  # fmt: skip
        head.bodies, head.codings = {}, {}
        head.deps, head.versions, head.checked = self.deps, self.versions, self.checked
        head.headers = {("304", "revalidated"): self.headers[("304", "revalidated")]}
        return head

    def coding_for(self, accept_encoding: str) -> str:
        """The best coding of this entry that ``accept_encoding`` accepts (identity when none
        is: RFC 9110 lets a server ignore the header rather than send a 406)."""
        coding = next((c for c in coding_preference(accept_encoding) if c in self.bodies), "identity")
        if len(self.codings) < MAX_CODINGS_MEMO:
            self.codings[accept_encoding] = coding
        return coding

    def not_modified(self, environ: dict[str, Any]) -> bool:
        """Whether the request's conditional headers make this a 304 (RFC 9110 §13.2.2)."""
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match == self.etag:
            return True  # the usual revalidation, decided without parsing
        if_modified_since = environ.get("HTTP_IF_MODIFIED_SINCE")
        if if_none_match is None and if_modified_since is None:
            return False
        return not_modified(if_none_match, if_modified_since, self.etag, self.last_modified)


def build_entry(
    stamp: str,
    status: str,
    headers: list[tuple[str, str]],
    body: bytes,
    *,
    default_cache_control: str,
    previous: StoredResponse | None,
    now: float,
    deps: tuple[str, ...] = (),
    versions: tuple[int, ...] = (),
) -> StoredResponse:
    """Turn a rendered 200 into an entry: validators, and every encoding compressed once."""
    stored, etag, last_modified, cache_control, vary = [], None, None, None, []
    for name, value in headers:
        lower = name.lower()
        if lower == "etag":
            etag = value
        elif lower == "last-modified":
            last_modified = value
        elif lower == "cache-control":
            cache_control = value
        elif lower == "vary":
            vary.extend(parse_list_header(value))
        elif lower not in NOT_STORED:
            stored.append((name, value))
    if not etag:
        etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    modified = _timestamp(last_modified)
    if modified is None:
        modified = float(int(now))
    if previous is not None and previous.etag != etag:
        # Different content must never look older than what a client may already hold (a
        # deleted newest article moves "newest updated" back), or If-Modified-Since would 304.
        before = _timestamp(previous.last_modified)
        if before is not None and modified <= before:
            modified = min(before + 1, float(int(now)))
    if not any(v.lower() == VARY_ENCODING.lower() for v in vary):
        vary.insert(0, VARY_ENCODING)
    cache_control = cache_control or default_cache_control
    return StoredResponse(
        stamp,
        status,
        stored,
        etag,
        http_date(modified),
        cache_control,
        ", ".join(vary),
        compressed(body),
        deps,
        versions,
    )


def compressed(body: bytes) -> dict[str, bytes]:
    """``body`` in every coding worth sending: identity always, gzip and br when smaller."""
    bodies = {"identity": body}
    if len(body) >= MIN_COMPRESS:
        packed = gzip.compress(body, GZIP_LEVEL, mtime=0)
        if len(packed) < len(body):
            bodies["gzip"] = packed
        if brotli is not None:
            packed = brotli.compress(body, quality=BROTLI_QUALITY)
            if len(packed) < len(body):
                bodies["br"] = packed
    return bodies


def storable(status: str, headers: list[tuple[str, str]]) -> bool:
    """A 200 of a cacheable type, with no cookie, that the view did not mark private."""
    if not status.startswith("200"):
        return False
    content_type = ""
    for name, value in headers:
        lower = name.lower()
        if lower == "set-cookie":
            return False
        if lower == "content-type":
            content_type = value.split(";", 1)[0].strip().lower()
        elif lower == "cache-control":
            # Directive names are case-insensitive (RFC 9111 §5.2); werkzeug matches them as written.
            directives = parse_cache_control_header(value.lower(), cls=ResponseCacheControl)
            if directives.no_store or directives.private or directives.no_cache:
                return False
        elif lower == "vary":
            if any(v.lower() not in VARY_OK for v in parse_list_header(value)):
                return False
    return content_type in CACHEABLE_TYPES


def _timestamp(value: str | None) -> float | None:
    moment = parse_date(value)
    return moment.timestamp() if moment is not None else None
