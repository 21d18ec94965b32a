"""Importing articles: JSON Lines, CSV, RSS/Atom feeds, JSON Feed and WordPress exports (WXR).

``run_import`` (``pipeline``) is the one entry point (the ``syndicate import`` command calls it).
It opens the source (``sources``: a file, or an http(s) URL fetched with a timeout and a size
cap), picks the format, and streams the records one format module parses (one module a format:
``jsonl``, ``csv``, ``feed``, ``jsonfeed``, ``wxr``). Every record goes through
``validation.article_record``, the one gate for input; a bad record (a number too large for
SQLite included) is reported with its line or item number, guid or title and the reason, and
skipped; the good ones are written in batches, each batch in one transaction (all or nothing).
The pipeline prints nothing: it reports events and progress through callbacks (the CLI turns
them into lines and a progress bar).

Identity (what makes a re-run an update rather than a duplicate):

- a record's ``guid`` when it has one (feeds: the entry id, else its link; WXR: ``<guid>``);
- JSON Lines / CSV records without a guid get a deterministic ``urn:uuid:`` (UUID 5) derived
  from, in order, their ``url`` or ``link``, their ``id``, else their title and published time.
  Never a random one, so importing the same file twice never duplicates an article.
- A guid that occurs twice in one source: the first record wins, the later one is reported as a
  duplicate and skipped (so a file's result never depends on batch boundaries).

A re-run of the same source changes nothing: records identical to the stored article are counted
as ``unchanged`` and not written (``Store.import_articles``)."""

from __future__ import annotations

from typing import Any

from .records import Context, Entry, Event, ImportFailed, Parsed, derived_guid, slug_from_url
from .sources import FORMATS, Source, detect, fetch, open_source

__all__ = [
    "BATCH_SIZE",
    "FORMATS",
    "Context",
    "Entry",
    "Event",
    "ImportFailed",
    "Parsed",
    "Source",
    "Summary",
    "apply_identity",
    "derived_guid",
    "detect",
    "fetch",
    "open_source",
    "run_import",
    "slug_from_url",
]

_PIPELINE = ("BATCH_SIZE", "Summary", "apply_identity", "run_import")


def __getattr__(name: str) -> Any:
    # The pipeline imports every format's parser (feedparser, lxml...): load it on first use, so
    # the CLI (which needs FORMATS for --format) does not slow every command and app start-up.
    if name in _PIPELINE:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
