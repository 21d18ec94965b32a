"""CSV: a header row naming the fields, then one article a row.

- Column names are the field names of ``validation.FIELDS`` (case and surrounding spaces do not
  matter); ``url``/``link`` and ``id`` are read for identity (see the package docstring); any
  other column is reported once and ignored.
- Delimiter: comma, or semicolon or tab when the header uses those instead (spreadsheet exports).
- UTF-8, with or without a byte-order mark. Each physical line is decoded on its own, so a row
  with invalid UTF-8 is one bad record.
- ``tags``: names separated by ``;``, or by ``,`` when the cell has no ``;``. ``author`` and
  ``category`` are display names. An empty cell is a missing value. ``image_length`` in bytes.
- The line number reported for a row is the line it starts on (a quoted cell may span lines).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from ..validation import FIELDS
from .records import IDENTITY_FIELDS, Context, Entry, ImportFailed, Parsed, whole_number
from .sources import Source

MAX_CELL = 16 * 1024 * 1024  # a long article body is one cell


def parse(src: Source, ctx: Context) -> Parsed:
    return Parsed(_entries(src, ctx), length=src.size, unit="bytes")


class _Lines:
    """The source's lines decoded one by one, remembering which had invalid UTF-8 and how many
    bytes have been read (for progress)."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.number = 0
        self.done = 0
        self.bad: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        for raw in self.stream:
            self.number += 1
            self.done += len(raw)
            if self.number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.bad[self.number] = f"invalid UTF-8 on line {self.number} ({exc.reason} at byte {exc.start + 1})"
                yield raw.decode("utf-8", errors="replace")


def _entries(src: Source, ctx: Context) -> Iterator[Entry]:
    previous_limit = csv.field_size_limit()
    csv.field_size_limit(MAX_CELL)
    try:
        with src.open() as stream:
            lines = _Lines(stream)
            line_iter = iter(lines)
            header_line = next(line_iter, None)
            if header_line is None or not header_line.strip():
                raise ImportFailed(f"{src.name}: empty CSV file (the first line must name the columns)")
            if 1 in lines.bad:
                raise ImportFailed(f"{src.name}: the header line is not UTF-8")
            delimiter = max((",", ";", "\t"), key=header_line.count)
            header = [h.strip().lower() for h in next(csv.reader([header_line], delimiter=delimiter))]
            if "title" not in header:
                raise ImportFailed(
                    f"{src.name}: the CSV header has no 'title' column (found: {', '.join(header) or 'nothing'})"
                )
            for name in header:
                if name and name not in FIELDS and name not in IDENTITY_FIELDS:
                    ctx.warn("line 1", f"ignoring the unknown column {name!r}")
            reader = csv.reader(line_iter, delimiter=delimiter, strict=True)
            start = 2
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    end = lines.number
                    yield Entry(f"line {start}", problem=f"not valid CSV ({exc})", done=lines.done)
                    start = end + 1
                    continue
                where, end = f"line {start}", lines.number
                bad = [lines.bad[n] for n in range(start, end + 1) if n in lines.bad]
                start = end + 1
                if not any(cell.strip() for cell in row):
                    continue
                if bad:
                    yield Entry(where, problem="; ".join(bad), done=lines.done)
                elif len(row) > len(header):
                    yield Entry(
                        where, problem=f"has {len(row)} cells but the header names {len(header)}", done=lines.done
                    )
                else:
                    yield Entry(where, data=_record(header, row), done=lines.done)
    finally:
        csv.field_size_limit(previous_limit)


def _record(header: list[str], row: list[str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, cell in zip(header, row, strict=False):
        if not name or (name not in FIELDS and name not in IDENTITY_FIELDS):
            continue
        value = cell.strip() if name not in ("body", "summary") else cell
        if value.strip() == "":
            continue
        if name == "tags":
            separator = ";" if ";" in value else ","
            data[name] = [t.strip() for t in value.split(separator) if t.strip()]
        elif name == "image_length":
            data[name] = whole_number(value)
        else:
            data[name] = value
    return data
