"""Settings: defaults, loading order and validation.

Order (later wins): the defaults below, ``instance/config.py``, environment variables
``SYNDICATE_<NAME>``, then the mapping given to ``create_app``. A bad setting stops start-up
with a message that names it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .i18n import check_language

DEFAULTS: dict[str, Any] = {
    # Identity of the site; SITE_URL is the absolute base of every URL in feeds and sitemaps.
    "SITE_URL": "http://127.0.0.1:8000",
    "SITE_TITLE": "The Syndicate Times",
    "SITE_DESCRIPTION": "World news, politics, economy, science and culture.",
    "SITE_LANGUAGE": "en",
    # Slugs made from titles and names: "unicode" keeps every script (WordPress does too),
    # "ascii" transliterates ("مریم احمدی" -> "mrym-hmdy").
    "SLUG_STYLE": "unicode",
    # Storage: a SQLite file; a relative path is taken relative to the instance folder.
    "DATABASE": "syndicate.db",
    # Listing sizes.
    "PER_PAGE": 10,
    "FEED_ITEMS": 20,
    # Display time zone (storage is always UTC).
    "TIMEZONE": "UTC",
    # Time zone assumed for naive timestamps in imports; empty means "reject naive times".
    "NAIVE_TIMEZONE": "",
    # Feeds: "full" (HTML body) or "summary" by default; ?content= overrides per request.
    "FEED_CONTENT": "full",
    # What the public gets per feed scope while partners get full text: "full", "summary" or
    # "none" for every scope, or "site=summary,tag=none,*=full" (partners.content_levels).
    "PUBLIC_FEED_CONTENT": "full",
    # Partners: requests a minute each (unless set per partner); seconds between usage writes.
    "PARTNER_RATE_PER_MINUTE": 600,
    "PARTNER_USAGE_FLUSH": 30.0,
    "FEED_TTL": 15,
    "WEBSUB_HUB": "",
    # WebSub pings: attempts in all, seconds before the first retry (doubled each time), timeout.
    "WEBSUB_ATTEMPTS": 4,
    "WEBSUB_BACKOFF": 2.0,
    "WEBSUB_TIMEOUT": 10.0,
    # How often (seconds, at most) to look for scheduled articles falling due, to ping for them.
    "WEBSUB_SCHEDULE_POLL": 30.0,
    # Caching: flask-caching backend ("SimpleCache", "FileSystemCache", "RedisCache", "NullCache").
    "CACHE_TYPE": "SimpleCache",
    "CACHE_THRESHOLD": 2000,
    # Finished responses kept in each process's memory in front of the shared backend.
    "CACHE_HOT_ENTRIES": 500,
    # Validators (ETag, Last-Modified) of rendered entries kept per process, so a revalidation
    # of an entry evicted from memory is answered 304 without rendering (~0.5 KB each).
    "CACHE_VALIDATORS": 20000,
    # Listing cards and feed entries kept ready, per process (syndicate/fragments.py); 0 = none.
    "FRAGMENT_CACHE_SIZE": 4000,
    "CACHE_DIR": "cache",
    "CACHE_REDIS_URL": "",
    "CACHE_DEFAULT_TIMEOUT": 3600,
    "CACHE_MAX_AGE": 60,
    "CACHE_STALE_WHILE_REVALIDATE": 300,
    # Surrogate keys (surrogate.py): the response header naming what a page or feed shows, for
    # the caching proxy ("xkey" for Varnish, "Surrogate-Key" for Fastly, "Cache-Tag" for
    # Cloudflare; empty: none).
    "SURROGATE_KEY_HEADER": "xkey",
    # With purging on (PURGE_URLS or PURGE_HOOK), how long the proxy may keep a page or feed
    # (Surrogate-Control: max-age, read by the proxy only); browsers keep CACHE_MAX_AGE.
    "SURROGATE_MAX_AGE": 86400,
    # Purging (purge.py): proxies told about every write, as base URLs ("http://127.0.0.1:6081",
    # several separated by spaces); how ("xkey": PURGE with an xkey-purge header, "ban": BAN
    # with the same header, for a Varnish without the xkey vmod); a callable "module:function"
    # given the keys, for CDN APIs; attempts in all, seconds before the first retry (doubled
    # each time), seconds per request; seconds a write waits for its purge's first attempt
    # (0: never waits; a proxy known to be down is never waited for); keys per purge request.
    "PURGE_URLS": "",
    "PURGE_METHOD": "xkey",
    "PURGE_HOOK": "",
    "PURGE_ATTEMPTS": 8,
    "PURGE_BACKOFF": 0.5,
    "PURGE_TIMEOUT": 2.0,
    "PURGE_WAIT": 0.5,
    "PURGE_BATCH_KEYS": 200,
    # Content-Security-Policy header; empty means the built-in strict policy (security.py).
    "CONTENT_SECURITY_POLICY": "",
    # Fediverse (ActivityPub): off until the operator opts in (README, "Follow us from the fediverse").
    "FEDIVERSE_ENABLED": False,
    "FEDIVERSE_USERNAME": "news",  # the site's handle: @news@host
    "FEDIVERSE_ICON": "",  # avatar of the actors (URL or path)
    "FEDIVERSE_TIMEOUT": 10.0,  # seconds per outgoing request
    "FEDIVERSE_BACKOFF": 60.0,  # seconds before the first retry of a failed delivery (doubled each time)
    "FEDIVERSE_RETRY_SECONDS": 86400,  # then the inbox is marked unreachable
    "FEDIVERSE_POLL": 5.0,  # seconds: how often workers look for deliveries queued by other processes
    "FEDIVERSE_WORKERS": 4,  # delivery threads per process
    "FEDIVERSE_ALLOW_PRIVATE_ADDRESSES": False,  # fetch/deliver to loopback and private networks (tests)
    # Publishing API: largest accepted request body, in bytes.
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    # Seconds a write made by a request waits for another process's write lock (a long import,
    # a backup, the sqlite3 shell) before the API answers 503 with Retry-After. Reads never wait.
    "WRITE_LOCK_TIMEOUT": 3.0,
    # The same for operator commands (import, demo, token...): long enough to outlast another
    # import's batch; then the command stops with a message saying the database is locked.
    "COMMAND_LOCK_TIMEOUT": 30.0,
    # /readyz (health.py) reports "disk full" below this many free bytes on the database's disk.
    "READY_MIN_FREE_BYTES": 16 * 1024 * 1024,
    # `syndicate serve` (waitress): worker threads; open connections it keeps (idle ones cost
    # one file descriptor each, no thread); seconds an idle connection is kept; seconds a client
    # may take to send a request's headers (slow senders are cut off); largest request line and
    # headers, bytes; connections waiting in the kernel to be accepted. server.py reads these.
    "SERVER_THREADS": 8,
    "SERVER_CONNECTION_LIMIT": 4096,
    "SERVER_CHANNEL_TIMEOUT": 30,
    "SERVER_HEADER_TIMEOUT": 15,
    "SERVER_MAX_HEADER_SIZE": 65536,
    "SERVER_BACKLOG": 1024,
    # glibc memory pools for the worker threads (0: glibc's default of 8 per core).
    "SERVER_MALLOC_ARENAS": 2,
    # Worker threads that may run API writes at once; while they are held up by another
    # process's lock, further writes get 503 at once, so no lock takes every thread from readers.
    "SERVER_WRITE_THREADS": 2,
    # Feed subscriber counts (subscribers.py): seconds between flushes of each process's
    # in-memory tally to the database; 0 turns counting off.
    "FEED_STATS_FLUSH": 30,
}

INT_LIMITS = {
    "PER_PAGE": (1, 200),
    "FEED_ITEMS": (1, 500),
    "FEED_TTL": (0, 10080),
    "CACHE_THRESHOLD": (10, 10_000_000),
    "CACHE_DEFAULT_TIMEOUT": (0, 10**8),
    "CACHE_MAX_AGE": (0, 10**8),
    "CACHE_STALE_WHILE_REVALIDATE": (0, 10**8),
    "MAX_CONTENT_LENGTH": (1024, 10**9),
    "WEBSUB_ATTEMPTS": (1, 20),
    "CACHE_HOT_ENTRIES": (1, 1_000_000),
    "CACHE_VALIDATORS": (1, 10_000_000),
    "FRAGMENT_CACHE_SIZE": (0, 1_000_000),
    "SERVER_THREADS": (1, 256),
    "SERVER_CONNECTION_LIMIT": (16, 1_000_000),
    "SERVER_CHANNEL_TIMEOUT": (1, 86400),
    "SERVER_HEADER_TIMEOUT": (1, 3600),
    "SERVER_MAX_HEADER_SIZE": (4096, 1_048_576),
    "SERVER_BACKLOG": (16, 65535),
    "SERVER_MALLOC_ARENAS": (0, 1024),
    "SERVER_WRITE_THREADS": (1, 256),
    "READY_MIN_FREE_BYTES": (0, 10**15),
    "SURROGATE_MAX_AGE": (0, 10**8),
    "PURGE_ATTEMPTS": (1, 100),
    "PURGE_BATCH_KEYS": (1, 10_000),
    "FEDIVERSE_RETRY_SECONDS": (1, 30 * 86400),
    "FEDIVERSE_WORKERS": (1, 64),
    "FEED_STATS_FLUSH": (0, 3600),
}
_POSITIVE_NUMBERS = (
    "WEBSUB_BACKOFF",
    "WEBSUB_TIMEOUT",
    "WEBSUB_SCHEDULE_POLL",
    "WRITE_LOCK_TIMEOUT",
    "COMMAND_LOCK_TIMEOUT",
    "FEDIVERSE_TIMEOUT",
    "FEDIVERSE_BACKOFF",
    "FEDIVERSE_POLL",
    "PURGE_BACKOFF",
    "PURGE_TIMEOUT",
    "PURGE_WAIT",
)
_KEY_HEADERS = ("xkey", "surrogate-key", "cache-tag")
_PURGE_METHODS = ("xkey", "ban")
_CACHE_TYPES = {"SimpleCache", "FileSystemCache", "RedisCache", "NullCache"}


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


def _coerce(name: str, raw: str) -> Any:
    default = DEFAULTS.get(name)
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"SYNDICATE_{name} must be a number, got {raw!r}") from None
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"SYNDICATE_{name} must be a whole number, got {raw!r}") from None
    return raw


def from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings given as ``SYNDICATE_<NAME>`` environment variables."""
    out = {}
    for key, raw in environ.items():
        if key.startswith("SYNDICATE_") and len(key) > len("SYNDICATE_"):
            name = key[len("SYNDICATE_") :]
            out[name] = _coerce(name, raw)
    return out


def load(app, config: Mapping[str, Any] | None = None) -> None:
    """Fill ``app.config`` in the documented order and validate it."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(from_environ(os.environ))
    if config:
        app.config.update(config)
    validate(app.config, Path(app.instance_path))


# Longer than our ~60 lines on purpose: one check a setting, read top to bottom like the table in the README.
def validate(cfg: dict[str, Any], instance_path: Path) -> None:
    """Check every setting we rely on; normalise paths and URLs in place."""
    url = str(cfg.get("SITE_URL", "")).strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"SITE_URL must be an absolute http(s) URL such as https://news.example.com, got {url!r}")
    cfg["SITE_URL"] = url.rstrip("/")

    for name in ("SITE_TITLE", "SITE_LANGUAGE"):
        if not str(cfg.get(name, "")).strip():
            raise ConfigError(f"{name} must not be empty")

    if cfg.get("SLUG_STYLE") not in {"unicode", "ascii"}:
        raise ConfigError(f"SLUG_STYLE must be 'unicode' or 'ascii', got {cfg.get('SLUG_STYLE')!r}")
    try:
        cfg["SITE_LANGUAGE"] = check_language(str(cfg["SITE_LANGUAGE"]))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None

    for name, (low, high) in INT_LIMITS.items():
        value = cfg.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{name} must be a whole number from {low} to {high}, got {value!r}")

    for name in _POSITIVE_NUMBERS:
        value = cfg.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 3600:
            raise ConfigError(f"{name} must be a number of seconds from 0 to 3600, got {value!r}")

    for name in ("TIMEZONE", "NAIVE_TIMEZONE"):
        value = cfg.get(name) or ""
        if name == "NAIVE_TIMEZONE" and not value:
            continue
        try:
            ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{name} must be an IANA time zone such as Europe/London, got {value!r}") from None

    if cfg.get("FEED_CONTENT") not in {"full", "summary"}:
        raise ConfigError(f"FEED_CONTENT must be 'full' or 'summary', got {cfg.get('FEED_CONTENT')!r}")

    hub = cfg.get("WEBSUB_HUB") or ""
    if hub and urlsplit(hub).scheme not in {"http", "https"}:
        raise ConfigError(f"WEBSUB_HUB must be an http(s) URL, got {hub!r}")

    _validate_purging(cfg)

    if not re.fullmatch(r"[a-z0-9_][a-z0-9_.-]{0,63}", str(cfg.get("FEDIVERSE_USERNAME", ""))):
        name = cfg.get("FEDIVERSE_USERNAME")
        raise ConfigError(f"FEDIVERSE_USERNAME must be a lower-case handle such as news, got {name!r}")

    if cfg.get("CACHE_TYPE") not in _CACHE_TYPES:
        raise ConfigError(f"CACHE_TYPE must be one of {sorted(_CACHE_TYPES)}, got {cfg.get('CACHE_TYPE')!r}")
    if cfg["CACHE_TYPE"] == "RedisCache" and not cfg.get("CACHE_REDIS_URL"):
        raise ConfigError("CACHE_REDIS_URL must be set when CACHE_TYPE is RedisCache")

    database = str(cfg.get("DATABASE") or "")
    if not database:
        raise ConfigError("DATABASE must name a SQLite file")
    if database != ":memory:":
        path = Path(database)
        cfg["DATABASE"] = str(path if path.is_absolute() else instance_path / path)
    cache_dir = Path(str(cfg.get("CACHE_DIR") or "cache"))
    cfg["CACHE_DIR"] = str(cache_dir if cache_dir.is_absolute() else instance_path / cache_dir)


def _validate_purging(cfg: dict[str, Any]) -> None:
    header = str(cfg.get("SURROGATE_KEY_HEADER") or "")
    if header and header.lower() not in _KEY_HEADERS:
        raise ConfigError(f"SURROGATE_KEY_HEADER must be xkey, Surrogate-Key, Cache-Tag or empty, got {header!r}")
    urls = cfg.get("PURGE_URLS") or ""
    urls = urls.replace(",", " ").split() if isinstance(urls, str) else [str(u) for u in urls]
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ConfigError(f"PURGE_URLS must list http(s) URLs such as http://127.0.0.1:6081, got {url!r}")
    cfg["PURGE_URLS"] = urls
    if cfg.get("PURGE_METHOD") not in _PURGE_METHODS:
        raise ConfigError(f"PURGE_METHOD must be one of {', '.join(_PURGE_METHODS)}, got {cfg.get('PURGE_METHOD')!r}")
    hook = str(cfg.get("PURGE_HOOK") or "")
    if hook and (hook.count(":") != 1 or not all(hook.split(":"))):
        raise ConfigError(f"PURGE_HOOK must name a callable as module:function, got {hook!r}")
