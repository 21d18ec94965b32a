"""Importing articles: JSON Lines, CSV, RSS/Atom feeds and WordPress exports (WXR).

``run_import`` is the one entry point (the ``syndicate import`` command calls it). It opens the
source (a file, or an http(s) URL fetched with a timeout and a size cap), picks the format, and
streams the records one format module parses (one module a format: ``jsonl``, ``csv``,
``feed``, ``wxr``). Every record goes through ``validation.article_record``, the one gate for
input; a bad record is reported with its line or item number and skipped, and the good ones are
written in batches, each batch in one transaction (all or nothing).

Identity (what makes a re-run an update rather than a duplicate):

- a record's ``guid`` when it has one (feeds: the entry id, else its link; WXR: ``<guid>``);
- JSON Lines / CSV records without a guid get a deterministic ``urn:uuid:`` (UUID 5) derived
  from, in order, their ``url`` or ``link``, their ``id``, else their title and published time.
  Never a random one, so importing the same file twice never duplicates an article.
- A guid that occurs twice in one source: the first record wins, the later one is reported as a
  duplicate and skipped (so a file's result never depends on batch boundaries).

A re-run of the same source changes nothing: records identical to the stored article are counted
as ``unchanged`` and not written (``Store.import_articles``).
"""

from __future__ import annotations

import contextlib
import io
import re
import sqlite3
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import IO, Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import click

from .. import content
from ..validation import FIELDS, Invalid, article_record

FORMATS = ("jsonl", "csv", "feed", "wxr")
FETCH_TIMEOUT = 30  # seconds, per network operation
FETCH_MAX_BYTES = 64 * 1024 * 1024
BATCH_SIZE = 500
# Show a progress bar only when an import is long enough for one to help.
PROGRESS_MIN_BYTES = 2 * 1024 * 1024
PROGRESS_MIN_ITEMS = 1000
# A WordPress export declares this namespace (…/export/1.0/, 1.1/, 1.2/).
WXR_NAMESPACE = re.compile(rb"""xmlns:wp\s*=\s*["']https?://wordpress\.org/export/""")
IDENTITY_FIELDS = ("url", "link", "id")  # read to derive guid and slug, never stored as such
Echo = Callable[..., Any]


class ImportFailed(ValueError):
    """The import cannot go on (unreadable source, unknown format, a batch the database refused).
    The message is for the operator; the CLI shows it without a traceback."""


@dataclass
class Summary:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    unchanged: int = 0
    ignored: dict[str, int] = field(default_factory=dict)  # non-articles by kind (WXR pages, attachments)


@dataclass
class Entry:
    """One record as a format module read it: ``data`` for validation, or ``problem`` when the
    record could not even be read (bad JSON, invalid UTF-8...), or neither for an item that is
    not an article and is passed over. ``done`` is progress so far."""

    where: str  # "line 7", "item 3"
    data: dict[str, Any] | None = None
    problem: str | None = None
    done: int = 0


@dataclass
class Parsed:
    entries: Iterator[Entry]
    length: int  # progress units in total (bytes or items)
    long: bool  # worth a progress bar
    ignored: dict[str, int] = field(default_factory=dict)  # filled while reading: non-articles by kind


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


@dataclass
class Context:
    """What a format module may need besides the bytes."""

    echo: Echo
    naive_tz: tzinfo | None = None

    def warn(self, message: str) -> None:
        self.echo(f"warning: {message}")


# ---------------------------------------------------------------------------- sources


def open_source(source: str) -> Source:
    """A Source for a path or an http(s) URL; ImportFailed with a clear reason otherwise."""
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        return Source(source, data=fetch(source), is_url=True)
    if len(scheme) > 1:  # one letter is a Windows drive, anything longer a URL we do not fetch
        raise ImportFailed(f"cannot import from {source}: only http and https URLs are fetched")
    path = Path(source)
    if not path.exists():
        raise ImportFailed(f"cannot read {source}: no such file")
    if not path.is_file():
        raise ImportFailed(f"cannot read {source}: not a file")
    return Source(source, path=path)


def fetch(url: str, *, timeout: float = FETCH_TIMEOUT, max_bytes: int = FETCH_MAX_BYTES) -> bytes:
    """The body of ``url`` (redirects followed), at most ``max_bytes``."""
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": "Syndicate-import/0.1",
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8",
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


def detect(src: Source, fmt: str = "auto") -> str:
    """The format of ``src``: as given, else from the file name, else from the content."""
    if fmt != "auto":
        if fmt not in FORMATS:
            raise ImportFailed(f"unknown format {fmt!r}: use one of auto, {', '.join(FORMATS)}")
        return fmt
    head = src.head()
    is_wxr = bool(WXR_NAMESPACE.search(head))
    ext = (src.path.suffix if src.path is not None else Path(urlsplit(src.name).path).suffix).lower()
    # A URL is a feed (or a WordPress export), unless its name says JSON Lines or CSV.
    if src.is_url and ext not in (".jsonl", ".ndjson", ".csv"):
        return "wxr" if is_wxr else "feed"
    if ext in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if ext in (".csv", ".tsv"):
        return "csv"
    if ext == ".wxr":
        return "wxr"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        return "wxr" if is_wxr else "feed"
    if text.startswith(b"{"):
        return "jsonl"
    first_line = text.split(b"\n", 1)[0].lower()
    if b"title" in first_line and any(sep in first_line for sep in (b",", b";", b"\t")):
        return "csv"
    raise ImportFailed(
        f"cannot tell the format of {src.name}: it is not JSON Lines, CSV, an RSS/Atom feed or a WordPress"
        " export; pass --format"
    )


# ---------------------------------------------------------------------- identity helpers


def derived_guid(*parts: object) -> str:
    """A deterministic ``urn:uuid:`` (UUID 5) for a record whose source gives no guid."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'syndicate-import:' + chr(31).join(map(str, parts)))}"


def slug_from_url(url: object) -> str | None:
    """The slug in a permalink (its last path segment without extension), if it has one."""
    if not isinstance(url, str):
        return None
    segments = [s for s in urlsplit(url.strip()).path.split("/") if s]
    if not segments:
        return None
    last = unquote(segments[-1]).rsplit(".", 1)[0] if "." in segments[-1] else unquote(segments[-1])
    slug = content.slugify(last)
    # A bare number (/2024/05/12345) is a post id, not a name: let the title make the slug.
    return slug if slug and not slug.isdigit() else None


def apply_identity(data: dict[str, Any]) -> None:
    """Give a JSON Lines / CSV record without a guid a deterministic one, and without a slug the
    one in its ``url``/``link``; the identity columns themselves are dropped."""
    url = data.pop("url", None)
    link = data.pop("link", None)
    ident = data.pop("id", None)
    permalink = url if isinstance(url, str) and url.strip() else link
    permalink = permalink.strip() if isinstance(permalink, str) and permalink.strip() else None
    if data.get("guid") in (None, ""):
        if permalink:
            data["guid"] = derived_guid("url", permalink)
        elif ident not in (None, "") and isinstance(ident, str | int):
            data["guid"] = derived_guid("id", ident)
        elif isinstance(data.get("title"), str) and data["title"].strip():
            data["guid"] = derived_guid("title", content.clean_text(data["title"]), data.get("published") or "")
    if data.get("slug") in (None, "") and permalink:
        data["slug"] = slug_from_url(permalink)


# --------------------------------------------------------------------------- the import


def run_import(
    store,
    source: str,
    fmt: str = "auto",
    *,
    config,
    echo: Echo,
    batch_size: int = BATCH_SIZE,
    dry_run: bool = False,
    progress: bool = True,
) -> Summary:
    """Import ``source`` into ``store``; report each bad record through ``echo`` and skip it."""
    from . import csv as csv_format
    from . import feed, jsonl, wxr

    naive = (config.get("NAIVE_TIMEZONE") or "") if config else ""
    ctx = Context(echo=echo, naive_tz=ZoneInfo(naive) if naive else None)
    src = open_source(source)
    fmt = detect(src, fmt)
    module = {"jsonl": jsonl, "csv": csv_format, "feed": feed, "wxr": wxr}[fmt]
    parsed = module.parse(src, ctx)
    summary = Summary()
    now = store.clock()
    seen: dict[str, str] = {}  # guid -> where it was first seen
    unknown_reported: set[str] = set()
    batch: list[dict[str, Any]] = []
    span: list[str] = []

    def skip(where: str, reason: str) -> None:
        summary.skipped += 1
        echo(f"{where}: skipped: {reason}")

    def flush() -> None:
        if not batch:
            return
        try:
            created, updated, unchanged = store.import_articles(batch, actor="import", dry_run=dry_run)
        except sqlite3.Error as exc:
            raise ImportFailed(
                f"the database refused the batch {span[0]} to {span[-1]} ({exc}); nothing of that batch was"
                f" written. Before it: {summary.created} created, {summary.updated} updated,"
                f" {summary.unchanged} unchanged. Importing again is safe: saved articles are matched by guid."
            ) from None
        summary.created += created
        summary.updated += updated
        summary.unchanged += unchanged
        batch.clear()
        span.clear()

    show_bar = progress and parsed.long
    bar_context = (
        click.progressbar(length=parsed.length, label="Importing", file=sys.stderr)
        if show_bar
        else contextlib.nullcontext()
    )
    done = 0
    with bar_context as bar:
        for entry in parsed.entries:
            if bar is not None and entry.done > done:
                bar.update(entry.done - done)
                done = entry.done
            if entry.problem is not None:
                skip(entry.where, entry.problem)
                continue
            if entry.data is None:  # not an article (a WordPress page...): progress only
                continue
            data = entry.data
            if fmt == "jsonl" and "syndicate_terms" in data:
                if not dry_run:
                    _apply_terms(store, data["syndicate_terms"], entry.where, ctx)
                continue
            if fmt in ("jsonl", "csv"):
                apply_identity(data)
                for key in [k for k in data if k not in FIELDS]:
                    if key not in unknown_reported:
                        unknown_reported.add(key)
                        ctx.warn(f"{entry.where}: ignoring the unknown field {key!r} (reported once)")
                    del data[key]
            _keep_stored_dates(store, data)
            try:
                record = article_record(data, now=now, naive_tz=ctx.naive_tz)
            except Invalid as exc:
                skip(entry.where, str(exc))
                continue
            except (TypeError, ValueError, AttributeError) as exc:  # a value shaped like nothing we expect
                skip(entry.where, f"cannot read this record ({exc})")
                continue
            first = seen.get(record["guid"])
            if first is not None:
                skip(entry.where, f"guid: {record['guid']} already appeared in {first} (the first one is kept)")
                continue
            seen[record["guid"]] = entry.where
            batch.append(record)
            span.append(entry.where)
            if len(batch) >= batch_size:
                flush()
        flush()
    summary.ignored = dict(parsed.ignored)
    return summary


def _apply_terms(store, terms: Any, where: str, ctx: Context) -> None:
    """The term line of ``syndicate export``: categories (order, description) and authors (bio)."""
    from ..content import clean_name, is_slug

    kinds = {"categories": ("category", ("description", "position")), "authors": ("author", ("bio",))}
    if not isinstance(terms, dict):
        ctx.warn(f"{where}: ignoring a malformed syndicate_terms line")
        return
    for key, (kind, extras) in kinds.items():
        stored = {record["slug"]: record for record in store.term_records(kind)}
        for item in terms.get(key) or []:
            slug = item.get("slug") if isinstance(item, dict) else None
            name = clean_name(item.get("name") or "") if isinstance(item, dict) else ""
            if not is_slug(slug) or not name:
                ctx.warn(f"{where}: ignoring a {kind} without a valid slug and name")
                continue
            values = {}
            for extra in extras:
                value = item.get(extra)
                if extra == "position" and isinstance(value, int) and not isinstance(value, bool):
                    values[extra] = value
                elif extra != "position" and isinstance(value, str):
                    values[extra] = content.clean_text(value, single_line=False)
            current = stored.get(slug)
            if current is not None and all(current[k] == v for k, v in {"name": name, **values}.items()):
                continue  # unchanged: no write, so a re-run changes nothing
            store.save_term(kind, slug, name, **values)


def _keep_stored_dates(store, data: dict[str, Any]) -> None:
    """A record without a published time gets "now" when first imported; on a re-run it keeps
    the time it got then, instead of moving to a new "now"."""
    if data.get("published") not in (None, "") or not isinstance(data.get("guid"), str):
        return
    existing = store.article_by_guid(data["guid"])
    if existing is not None:
        data["published"] = existing.published
        if data.get("updated") in (None, ""):
            data["updated"] = existing.updated
