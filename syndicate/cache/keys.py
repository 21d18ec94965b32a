"""Cache keys: which requests share an entry, and which deployment an entry belongs to.

A key is the path plus the query parameters that change the output (``KEY_PARAMS``),
normalised; every other parameter is dropped, so cache-busting junk cannot create entries.
A browser's view of an RSS or Atom feed is another representation, so another key
(``BROWSER_SUFFIX``). Backend keys add a prefix naming the site, its settings and the code.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from flask import Flask

# Query parameters that change what a page or feed shows; all others are ignored (and not passed
# to the view on a miss, so what is stored is exactly what the key names).
KEY_PARAMS = ("content", "page", "q")
BROWSER_SUFFIX = "#html"
ENTRY_FORMAT = 2  # bump when the stored form of an entry changes
# Settings that change the output: entries differ between sites, databases and these.
IDENTITY_SETTINGS = (
    "SITE_URL", "SITE_TITLE", "SITE_DESCRIPTION", "SITE_LANGUAGE", "DATABASE", "PER_PAGE", "FEED_ITEMS",
    "TIMEZONE", "FEED_CONTENT", "PUBLIC_FEED_CONTENT", "FEED_TTL", "WEBSUB_HUB", "CACHE_MAX_AGE",
    "CACHE_STALE_WHILE_REVALIDATE", "SURROGATE_KEY_HEADER", "SURROGATE_MAX_AGE", "PURGE_URLS", "PURGE_HOOK",
)  # fmt: skip


@lru_cache(maxsize=1024)
def canonical_query(query_string: str) -> str:
    """The parameters of ``query_string`` that change the output, normalised and sorted.

    The first non-blank value of each ``KEY_PARAMS`` name wins; ``page`` loses leading zeros,
    ``q`` extra whitespace; everything else is dropped.
    """
    values: dict[str, str] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=False):
        if name not in KEY_PARAMS or name in values:
            continue
        value = " ".join(value.split())
        if not value:
            continue
        if name == "page" and value.isdigit() and value.isascii():
            value = str(int(value))
        values[name] = value
    return urlencode(sorted(values.items()))


def is_search(query: str) -> bool:
    """Whether a canonical query is a search (searches get their own share of memory)."""
    return query.startswith("q=") or "&q=" in query


def backend_prefix(app: Flask) -> str:
    """The prefix of this deployment's backend keys: its settings and its code, hashed, so a
    shared Redis never serves one site's pages, or the previous release's, to another."""
    identity: dict[str, Any] = {name: app.config.get(name) for name in IDENTITY_SETTINGS}
    identity["code"] = code_fingerprint(app)
    digest = hashlib.blake2b(json.dumps(identity, sort_keys=True).encode(), digest_size=8).hexdigest()
    return f"syndicate:{ENTRY_FORMAT}:{digest}:"


def backend_key(prefix: str, key: str) -> str:
    return prefix + hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=20).hexdigest()


def code_fingerprint(app: Flask) -> str:
    """A hash of everything that shapes a rendered response: the package's Python files and
    compiled catalogs (a translation-only release changes pages too), the templates and the
    feed stylesheet. By content, not time, so every machine running the same
    release shares entries."""
    package = Path(__file__).resolve().parent.parent
    files = sorted(package.rglob("*.py")) + sorted(package.rglob("*.mo"))
    if app.template_folder:
        files += sorted(Path(app.root_path, app.template_folder).rglob("*"))
    if app.static_folder:
        files += [Path(app.static_folder, name) for name in ("feed.xsl", "feed.css", "style.css")]
    digest = hashlib.blake2b(digest_size=8)
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(path.parent.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(path: str, query: str, browser: bool) -> str:
    """The key of a request: its path (with SCRIPT_NAME), its canonical query, and whether it
    gets a feed's browser representation."""
    key = path + "?" + query if query else path
    return key + BROWSER_SUFFIX if browser else key
