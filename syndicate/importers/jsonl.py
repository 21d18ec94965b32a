"""JSON Lines: one JSON object a line, the format ``syndicate export`` writes.

The file is read as bytes and each line decoded on its own, so one line of invalid UTF-8, a
line that is not JSON, or a line that is not an object is one bad record, not a failed import.
Blank lines are ignored. Raw control characters inside strings are accepted (and stripped by
validation) rather than rejected. Records use the field names of ``validation.FIELDS``; ``url``/``link``
and ``id`` are read for identity (see the package docstring).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

from .records import Context, Entry, Parsed
from .sources import Source

_MAX_DIGITS = sys.get_int_max_str_digits()


def parse(src: Source, ctx: Context) -> Parsed:
    return Parsed(_entries(src), length=src.size, unit="bytes")


def _entries(src: Source) -> Iterator[Entry]:
    done = 0
    with src.open() as stream:
        for number, raw in enumerate(stream, start=1):
            done += len(raw)
            where = f"line {number}"
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            raw = raw.rstrip(b"\r\n")
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield Entry(where, problem=f"invalid UTF-8 ({exc.reason} at byte {exc.start + 1})", done=done)
                continue
            try:
                # strict=False: a raw control character inside a string is read (and later stripped
                # by validation) rather than failing the record; sloppy exporters write them.
                data = json.loads(text, strict=False)
            except json.JSONDecodeError as exc:
                reason = exc.msg.removesuffix(" at")
                yield Entry(where, problem=f"not valid JSON ({reason}, column {exc.colno})", done=done)
                continue
            except RecursionError:
                yield Entry(where, problem="not valid JSON (nested too deeply)", done=done)
                continue
            except ValueError:  # Python's cap on digits when turning text into an int
                yield Entry(where, problem=f"a number with more than {_MAX_DIGITS} digits", done=done)
                continue
            if not isinstance(data, dict):
                yield Entry(where, problem=f"not a JSON object (found {_json_type(data)})", done=done)
                continue
            yield Entry(where, data=data, done=done)


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return "a number"
