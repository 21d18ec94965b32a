"""Where records come from and what they are: a local file or an http(s) URL (fetched with a
timeout and a size cap), the format detected from the name and the content, and XML in UTF-16
or UTF-32 (a WordPress export saved by a Windows tool) re-encoded as UTF-8 for the parsers."""

from __future__ import annotations

import codecs
import io
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from .records import ImportFailed

FORMATS = ("jsonl", "csv", "feed", "wxr", "jsonfeed")
FETCH_TIMEOUT = 30  # seconds, per network operation
FETCH_MAX_BYTES = 64 * 1024 * 1024
# A WordPress export declares this namespace (…/export/1.0/, 1.1/, 1.2/).
WXR_NAMESPACE = re.compile(r"""xmlns:wp\s*=\s*["']https?://wordpress\.org/export/""")
# A JSON Feed names its version first or early: "version": "https://jsonfeed.org/version/1.1".
JSONFEED_VERSION = re.compile(r""""version"\s*:\s*"https?://jsonfeed\.org/version/""")
# Byte-order marks, longest first (the UTF-32 LE mark starts with the UTF-16 LE one).
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Without a mark, "<?" in UTF-16 or UTF-32 (the XML specification's appendix F).
_XML_STARTS = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00?\x00", "utf-16-le"),
    (b"\x00<\x00?", "utf-16-be"),
)
_WIDE = ("utf-16", "utf-32")
_DECLARED_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?\sencoding\s*=\s*)(["'])[^"']*\2""")


@dataclass
class Source:
    """Where the records come from: a local file, or the body of an http(s) response."""

    name: str
    path: Path | None = None
    data: bytes | None = None
    is_url: bool = False

    def open(self) -> IO[bytes]:
        if self.path is not None:
            return self.path.open("rb")
        return io.BytesIO(self.data or b"")

    @property
    def size(self) -> int:
        return self.path.stat().st_size if self.path is not None else len(self.data or b"")

    def head(self, size: int = 65536) -> bytes:
        with self.open() as stream:
            return stream.read(size)

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        with self.open() as stream:
            return stream.read()


def open_source(source: str) -> Source:
    """A Source for a path or an http(s) URL; ImportFailed with a clear reason otherwise."""
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        return Source(source, data=fetch(source), is_url=True)
    if len(scheme) > 1:  # one letter is a Windows drive, anything longer a URL we do not fetch
        raise ImportFailed(f"cannot import from {source}: only http and https URLs are fetched")
    path = Path(source)
    try:
        if not path.exists():
            raise ImportFailed(f"cannot read {source}: no such file")
        if not path.is_file():
            raise ImportFailed(f"cannot read {source}: not a file")
        with path.open("rb"):
            pass
    except OSError as exc:
        raise ImportFailed(f"cannot read {source}: {exc.strerror or exc}") from None
    return Source(source, path=path)


def fetch(url: str, *, timeout: float = FETCH_TIMEOUT, max_bytes: int = FETCH_MAX_BYTES) -> bytes:
    """The body of ``url`` (redirects followed), at most ``max_bytes``."""
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": "Syndicate-import/0.1",
            "Accept": "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9,"
            " */*;q=0.8",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - http(s) only, checked above
            body = response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        raise ImportFailed(f"cannot fetch {url}: the server answered HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise ImportFailed(f"cannot fetch {url}: {_reason(exc.reason)}") from None
    except TimeoutError:
        raise ImportFailed(f"cannot fetch {url}: no answer within {timeout:g} seconds") from None
    except (OSError, ValueError) as exc:  # connection reset mid-body, malformed URL...
        raise ImportFailed(f"cannot fetch {url}: {_reason(exc)}") from None
    if len(body) > max_bytes:
        raise ImportFailed(f"cannot fetch {url}: larger than the limit of {max_bytes:,} bytes")
    return body


def _reason(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError):
        return "timed out"
    return getattr(reason, "strerror", None) or str(reason)


def wide_encoding(head: bytes) -> str | None:
    """The encoding of text in UTF-16 or UTF-32 (from its byte-order mark, else from how "<?"
    is written); None for everything else (UTF-8 and the one-byte encodings parsers read)."""
    for mark, encoding in _BOMS:
        if head.startswith(mark):
            return encoding if encoding.startswith(_WIDE) else None
    for start, encoding in _XML_STARTS:
        if head.startswith(start):
            return encoding
    return None


def head_text(src: Source, size: int = 65536) -> str:
    """The start of ``src`` as text, for sniffing (wide encodings decoded, the rest as UTF-8)."""
    head = src.head(size)
    encoding = wide_encoding(head) or "utf-8"
    return head.decode(encoding, errors="replace").lstrip("\ufeff")


def as_utf8_xml(src: Source) -> Source:
    """``src`` unchanged, or, when it is XML in UTF-16/UTF-32, the same document in UTF-8 with
    its declaration saying so (lxml's streaming parser and our byte-level clean-up need an
    ASCII-compatible encoding)."""
    encoding = wide_encoding(src.head(8))
    if encoding is None:
        return src
    try:
        text = src.read().decode(encoding).lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        raise ImportFailed(
            f"{src.name} starts as {encoding.upper()} but byte {exc.start + 1} is not ({exc.reason})"
        ) from None
    text = _DECLARED_ENCODING.sub(lambda m: f"{m.group(1)}{m.group(2)}UTF-8{m.group(2)}", text, count=1)
    return Source(src.name, data=text.encode("utf-8"), is_url=src.is_url)


def is_jsonfeed(src: Source) -> bool:
    """Whether ``src`` is a JSON Feed document: one JSON object whose ``version`` is a
    jsonfeed.org URL (a JSON Lines file is one object a line, with no such member)."""
    text = head_text(src).lstrip()
    if not text.startswith("{") or not JSONFEED_VERSION.search(text):
        return False
    first_line = text.split("\n", 1)[0]
    try:
        # A JSON Lines file whose first record mentions the URL: its first line is a whole object.
        json.loads(first_line)
    except ValueError:
        return True
    return JSONFEED_VERSION.search(first_line) is not None and '"items"' in first_line


def detect(src: Source, fmt: str = "auto") -> str:
    """The format of ``src``: as given, else from the content where it tells, else the file name."""
    if fmt != "auto":
        if fmt not in FORMATS:
            raise ImportFailed(f"unknown format {fmt!r}: use one of auto, {', '.join(FORMATS)}")
        return fmt
    text = head_text(src).lstrip()
    is_wxr = bool(WXR_NAMESPACE.search(text))
    ext = (src.path.suffix if src.path is not None else Path(urlsplit(src.name).path).suffix).lower()
    if is_jsonfeed(src):
        return "jsonfeed"
    # A URL is a feed (or a WordPress export), unless its name says JSON Lines or CSV.
    if src.is_url and ext not in (".jsonl", ".ndjson", ".csv"):
        return "wxr" if is_wxr else "feed"
    if ext in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if ext in (".csv", ".tsv"):
        return "csv"
    if ext == ".wxr":
        return "wxr"
    if text.startswith("<"):
        return "wxr" if is_wxr else "feed"
    if text.startswith("{"):
        return "jsonl"
    first_line = text.split("\n", 1)[0].lower()
    if "title" in first_line and any(sep in first_line for sep in (",", ";", "\t")):
        return "csv"
    raise ImportFailed(
        f"cannot tell the format of {src.name}: it is not JSON Lines, CSV, an RSS/Atom feed, a JSON Feed or a"
        " WordPress export; pass --format"
    )
