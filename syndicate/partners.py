"""Partner access to feeds: who is asking, what they may fetch, and what they get.

A partner is made with ``syndicate partner add`` and fetches any feed (every scope, format,
page and RFC 5005 archive) with its secret, either as ``Authorization: Bearer <secret>`` or,
for readers that cannot send headers, under its secret URL ``/partner/<secret>/feed/atom/``
(the weaker option: a URL ends up in logs and referrers). Partners get full text whatever
``PUBLIC_FEED_CONTENT`` gives the public, and, in subscription and paged documents, the
articles still under embargo, marked as such (see ``feedwriters``).

Partner answers never touch the shared response cache: the fast path passes requests with an
``Authorization`` header or under ``/partner/`` straight to Flask, and they leave as
``Cache-Control: private`` with an ETag of their own (so 304s work per partner). A partner's
secret is looked up (by its SHA-256) on each of its requests, so a revoked or rotated secret
stops working on the next request in every process. A bad secret gets the same 401 whether or
not a partner ever had it; a partner asking for a feed outside its scopes or categories a 403.

The public's content level per scope (``PUBLIC_FEED_CONTENT``): ``full`` (as ``FEED_CONTENT``
and ``?content=`` say), ``summary`` (always), or ``none`` (partners only: the public gets 401).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, g, request

from .config import ConfigError
from .db import get_store
from .negotiation import IMMUTABLE
from .store import token_hash
from .urls import PARTNER_PREFIX

SCOPE_KINDS = ("site", "category", "tag", "author", "search")
CONTENT_LEVELS = ("full", "summary", "none")
ENVIRON_SECRET = "syndicate.partner.secret"  # the secret taken from a /partner/<secret>/ path
PRIVATE = "private, no-cache"  # revalidated every time (an embargo may lift), never shared
PRIVATE_IMMUTABLE = IMMUTABLE.replace("public", "private")
CHALLENGE = 'Bearer realm="partner feeds"'


@dataclass(frozen=True)
class Partner:
    """An authenticated partner, for the length of one request."""

    name: str
    scopes: tuple[str, ...]  # feed scope kinds it may fetch; empty: all
    categories: tuple[str, ...]  # category slugs it may fetch; empty: all
    rate_per_minute: int | None  # None: PARTNER_RATE_PER_MINUTE
    url_prefix: str = ""  # '/partner/<secret>' when it came by its secret URL

    def may_fetch(self, kind: str, slug: str) -> bool:
        """Scopes limit the kinds of feed; categories limit it to those categories' feeds (a
        site, tag, author or search feed would carry other categories' articles)."""
        if self.scopes and kind not in self.scopes:
            return False
        return not self.categories or (kind == "category" and slug in self.categories)


# ------------------------------------------------------------------------------- settings


def content_levels(setting: Any) -> dict[str, str]:
    """``PUBLIC_FEED_CONTENT`` as {scope kind: level}: one level for every scope ("summary"),
    or ``kind=level`` pairs, a bare level standing for the rest ("summary,tag=none", or
    "site=summary,*=full"), or a dict."""
    if isinstance(setting, dict):
        pairs = [(str(k), str(v)) for k, v in setting.items()]
    elif isinstance(setting, str):
        items = [item.strip() for item in setting.split(",") if item.strip()] or ["full"]
        pairs = [(k.strip(), v.strip()) if v else ("*", k.strip()) for k, _, v in (i.partition("=") for i in items)]
    else:
        raise ConfigError(f"PUBLIC_FEED_CONTENT must be a level or kind=level pairs, got {setting!r}")
    default = dict(pairs).get("*", "full")
    levels = dict.fromkeys(SCOPE_KINDS, default)
    for kind, level in pairs:
        if kind != "*" and kind not in SCOPE_KINDS:
            raise ConfigError(f"PUBLIC_FEED_CONTENT: unknown scope {kind!r} (one of {', '.join(SCOPE_KINDS)}, *)")
        if level not in CONTENT_LEVELS:
            raise ConfigError(f"PUBLIC_FEED_CONTENT: {kind}={level!r}: the level must be full, summary or none")
        if kind != "*":
            levels[kind] = level
    return levels


def parse_list(value: str | Iterable[str], allowed: Iterable[str] | None = None, what: str = "scope") -> list[str]:
    """'site, category' (or a list) as ['site', 'category'], each checked against ``allowed``."""
    items = value.split(",") if isinstance(value, str) else list(value)
    out = [i.strip() for i in items if i.strip()]
    if allowed is not None:
        allowed = list(allowed)
        for item in out:
            if item not in allowed:
                raise ValueError(f"unknown {what} {item!r} (one of {', '.join(allowed)})")
    return list(dict.fromkeys(out))


# ----------------------------------------------------------------------- the request's partner


def current() -> Partner | None:
    """The partner making this request, or None for the public."""
    return g.get("partner")


def _feed_scope() -> tuple[str, str]:
    """(kind, slug) of the feed this request is for."""
    endpoint = (request.endpoint or "").partition(".")[2]
    args = request.view_args or {}
    if endpoint.startswith("search_"):
        return "search", ""
    return args.get("kind", "site"), str(args.get("slug", ""))


def _refusal(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    response = Response(message + "\n", status=status, mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _secret() -> str | None:
    """The partner secret this request presents: from its /partner/ URL, else a Bearer header."""
    secret = request.environ.get(ENVIRON_SECRET)
    if secret is not None:
        return secret
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def authenticate() -> Response | None:
    """``before_request``: on feeds, find the partner (401 for any secret that is not a live
    partner's, 429 over its rate, 403 outside its scopes), or apply the public's level."""
    via_url = request.environ.get(ENVIRON_SECRET) is not None
    if request.blueprint != "feeds" or request.endpoint == "feeds.opml":
        return _refusal(404, "not found") if via_url else None
    kind, slug = _feed_scope()
    secret = _secret()
    if secret is None:
        if content_level(kind) == "none":
            return _refusal(401, "this feed is for partners", {"WWW-Authenticate": CHALLENGE})
        return None
    digest = token_hash(secret)
    row = get_store().partner_by_hash(digest)
    if row is None or not hmac.compare_digest(row["token_hash"], digest):
        # The same answer for a secret that never existed, a revoked one and a rotated one.
        return _refusal(401, "unknown or revoked partner credential", {"WWW-Authenticate": CHALLENGE})
    prefix = PARTNER_PREFIX + secret if via_url else ""
    partner = Partner(row["name"], tuple(row["scopes"]), tuple(row["categories"]), row["rate_per_minute"], prefix)
    from .partner_usage import rate_limits, usage

    usage(current_app).count(partner.name, requests=1)
    wait = rate_limits(current_app).take(partner.name, partner.rate_per_minute)
    if wait > 0:
        return _refusal(429, "rate limit exceeded", {"Retry-After": str(max(1, round(wait + 0.5)))})
    if not partner.may_fetch(kind, slug):
        return _refusal(403, f"partner {partner.name!r} may not fetch this feed")
    g.partner = partner
    return None


def private_headers(response: Response) -> Response:
    """``after_request``: a partner's answer is private (archives privately immutable), and
    counted as delivered when it carried a document."""
    partner = current()
    if partner is None:
        return response
    archive = "archive" in (request.endpoint or "")
    if response.status_code in (200, 304) and archive:
        response.headers["Cache-Control"] = PRIVATE_IMMUTABLE
    elif response.status_code != 226:  # a delta keeps its no-store
        response.headers["Cache-Control"] = PRIVATE
    response.headers.pop("X-Cache", None)
    if response.status_code in (200, 226) and request.method == "GET":
        from .partner_usage import usage

        usage(current_app).count(partner.name, documents=1, articles=g.get("partner_items", 0))
    return response


# ----------------------------------------------------------------- hooks for feeds.py


def content_mode(requested: str | None, kind: str) -> str:
    """'full' or 'summary' for this request: partners get full text (unless they ask for
    summaries); the public what ``PUBLIC_FEED_CONTENT`` allows, else what it asked for."""
    if current() is not None:
        return requested or "full"
    if content_level(kind) == "summary":
        return "summary"
    return requested or current_app.config["FEED_CONTENT"]


def content_level(kind: str) -> str:
    return current_app.extensions["syndicate.public_levels"].get(kind, "full")


def feed_url(path: str) -> str:
    """The absolute URL of a feed document: under the partner's secret URL when it came by
    one (so its reader follows paging and archive links with it), else ``SITE_URL + path``."""
    partner = current()
    prefix = partner.url_prefix if partner is not None else ""
    return current_app.config["SITE_URL"] + prefix + path


def etag_identity() -> str:
    """Mixed into a feed's ETag: each partner's representation has its own validators."""
    partner = current()
    return f"|partner:{partner.name}" if partner is not None else ""


def delivered(count: int) -> None:
    """How many articles the document being sent carries (for the partner's usage)."""
    g.partner_items = count


# ------------------------------------------------------------------------------- wiring


class SecretUrls:
    """WSGI: ``/partner/<secret>/<path>`` is ``/<path>`` asked with that secret. Sits inside the
    response cache, which passes every ``/partner/`` path to Flask untouched."""

    def __init__(self, app: Callable) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(PARTNER_PREFIX):
            secret, _, rest = path[len(PARTNER_PREFIX) :].partition("/")
            environ = {**environ, "PATH_INFO": "/" + rest, ENVIRON_SECRET: secret}
        return self.app(environ, start_response)


def init_app(app: Flask) -> None:
    """Check the settings, authenticate partners on feeds, mark their answers private, route
    secret URLs, and start the usage tally (before the cache wraps the app)."""
    from . import partner_usage

    app.extensions["syndicate.public_levels"] = content_levels(app.config["PUBLIC_FEED_CONTENT"])
    partner_usage.init_app(app)
    app.before_request(authenticate)
    app.after_request(private_headers)
    app.wsgi_app = SecretUrls(app.wsgi_app)  # type: ignore[method-assign]
