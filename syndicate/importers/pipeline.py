"""The import pipeline: source -> format module -> identity -> validation -> batches -> store.

It writes nothing to the terminal: what an operator should read (a record skipped, a field
dropped) goes to ``on_event`` as an ``Event`` naming the record and the reason, and progress goes
to ``on_progress(done, total, unit)``; the CLI turns those into lines and a progress bar.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from .. import content
from ..validation import FIELDS, ArticleRecord, Invalid, article_record
from . import csv as csv_format
from . import feed, jsonfeed, jsonl, wxr
from .records import Context, Entry, Event, ImportFailed, OnEvent, OnProgress, derived_guid, ignore, slug_from_url
from .sources import detect, open_source

BATCH_SIZE = 500
MODULES = {"jsonl": jsonl, "csv": csv_format, "feed": feed, "wxr": wxr, "jsonfeed": jsonfeed}
# What an SQLite INTEGER holds; a larger number in a record is that record's fault, not the batch's.


@dataclass
class Summary:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    unchanged: int = 0
    warnings: int = 0
    ignored: dict[str, int] = field(default_factory=dict)  # non-articles by kind (WXR pages, attachments)


def run_import(
    store,
    source: str,
    fmt: str = "auto",
    *,
    config=None,
    batch_size: int = BATCH_SIZE,
    dry_run: bool = False,
    on_event: OnEvent = ignore,
    on_progress: OnProgress = ignore,
) -> Summary:
    """Import ``source`` into ``store``: every bad record is reported through ``on_event`` and
    skipped, the good ones written in batches (each all or nothing). ImportFailed when the
    source cannot be read at all or the database refuses a batch."""
    summary = Summary()

    def report(event: Event) -> None:
        if event.kind == "warning":
            summary.warnings += 1
        on_event(event)

    ctx = Context(on_event=report, naive_tz=_naive_tz(config))
    src = open_source(source)
    fmt = detect(src, fmt)
    parsed = MODULES[fmt].parse(src, ctx)
    batches = _Batches(store, fmt, ctx, summary, batch_size, dry_run)
    try:
        for entry in parsed.entries:
            if entry.done:
                on_progress(entry.done, parsed.length, parsed.unit)
            batches.take(entry)
    except ImportFailed:
        batches.flush()  # the records read before the source broke off are kept
        raise
    batches.flush()
    summary.ignored = dict(parsed.ignored)
    return summary


def _naive_tz(config) -> tzinfo | None:
    naive = (config.get("NAIVE_TIMEZONE") or "") if config else ""
    return ZoneInfo(naive) if naive else None


class _Batches:
    """Validates entries one by one and writes the good ones ``batch_size`` at a time."""

    def __init__(self, store, fmt: str, ctx: Context, summary: Summary, batch_size: int, dry_run: bool) -> None:
        self.store, self.fmt, self.ctx, self.summary = store, fmt, ctx, summary
        self.batch_size, self.dry_run = batch_size, dry_run
        self.now = store.clock()
        self.seen: dict[str, str] = {}  # guid -> where it was first seen
        self.unknown_reported: set[str] = set()
        self.batch: list[dict[str, Any]] = []
        self.span: list[str] = []

    def skip(self, where: str, reason: str, data: dict[str, Any] | None = None) -> None:
        self.summary.skipped += 1
        self.ctx.on_event(Event("skipped", where, reason, _named(data or {})))

    def take(self, entry: Entry) -> None:
        if entry.problem is not None:
            self.skip(entry.where, entry.problem)
            return
        if entry.data is None:  # not an article (a WordPress page...): progress only
            return
        data = entry.data
        if self.fmt == "jsonl" and "syndicate_terms" in data:
            if not self.dry_run:
                _apply_terms(self.store, data["syndicate_terms"], entry.where, self.ctx)
            return
        if self.fmt in ("jsonl", "csv"):
            apply_identity(data)
            self._drop_unknown(entry.where, data)
        record = self._validate(entry.where, data)
        if record is None:
            return
        for warning in entry.warnings:
            self.ctx.warn(entry.where, warning, _named(record))
        first = self.seen.get(record.guid)
        if first is not None:
            self.skip(entry.where, f"guid: {record.guid} already appeared in {first} (the first one is kept)", record)
            return
        self.seen[record.guid] = entry.where
        self.batch.append(record)
        self.span.append(entry.where)
        if len(self.batch) >= self.batch_size:
            self.flush()

    def _drop_unknown(self, where: str, data: dict[str, Any]) -> None:
        for key in [k for k in data if k not in FIELDS]:
            if key not in self.unknown_reported:
                self.unknown_reported.add(key)
                self.ctx.warn(where, f"ignoring the unknown field {key!r} (reported once)")
            del data[key]

    def _validate(self, where: str, data: dict[str, Any]) -> ArticleRecord | None:
        """The clean record (the gate range-checks every number), or None once the reason it
        is skipped has been reported."""
        try:
            _keep_stored_dates(self.store, data)
            record = article_record(data, now=self.now, naive_tz=self.ctx.naive_tz)
        except Invalid as exc:
            self.skip(where, str(exc), data)
            return None
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:  # a value shaped like nothing we expect
            self.skip(where, f"cannot read this record ({exc})", data)
            return None
        return record

    def flush(self) -> None:
        if not self.batch:
            return
        summary = self.summary
        try:
            created, updated, unchanged = self.store.import_articles(self.batch, actor="import", dry_run=self.dry_run)
        except sqlite3.Error as exc:
            raise ImportFailed(
                f"the database refused the batch {self.span[0]} to {self.span[-1]} ({exc}); nothing of that batch"
                f" was written. Before it: {summary.created} created, {summary.updated} updated,"
                f" {summary.unchanged} unchanged. Importing again is safe: saved articles are matched by guid."
            ) from None
        summary.created += created
        summary.updated += updated
        summary.unchanged += unchanged
        self.batch.clear()
        self.span.clear()


def _named(data: dict[str, Any] | ArticleRecord) -> str:
    """The record's guid or title, so the operator can find it in the source ("" if neither)."""
    for key in ("guid", "title"):
        value = getattr(data, key, None) if isinstance(data, ArticleRecord) else data.get(key)
        text = content.clean_text(value) if isinstance(value, str) else ""
        if text:
            return f"{key} {text[:80]!r}"
    return ""


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


def _apply_terms(store, terms: Any, where: str, ctx: Context) -> None:
    """The term line of ``syndicate export``: categories (order, description) and authors (bio)."""
    kinds = {"categories": ("category", ("description", "position")), "authors": ("author", ("bio",))}
    if not isinstance(terms, dict):
        ctx.warn(where, "ignoring a malformed syndicate_terms line")
        return
    for key, (kind, extras) in kinds.items():
        stored = {record["slug"]: record for record in store.term_records(kind)}
        for item in terms.get(key) or []:
            slug = item.get("slug") if isinstance(item, dict) else None
            name = content.clean_name(item.get("name") or "") if isinstance(item, dict) else ""
            if not content.is_slug(slug) or not name:
                ctx.warn(where, f"ignoring a {kind} without a valid slug and name")
                continue
            values = {}
            for extra in extras:
                value = item.get(extra)
                if (
                    extra == "position"
                    and isinstance(value, int)
                    and not isinstance(value, bool)
                    and abs(value) < 2**31
                ):
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
