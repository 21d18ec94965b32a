"""The fediverse's HTTP side: WebFinger, NodeInfo, host-meta, actors, outboxes, followers,
inboxes and article objects, plus content negotiation on permalinks and listing pages."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, redirect, request
from werkzeug.exceptions import NotFound

from ..db import get_store
from ..models import Article
from ..store.fediverse import FediStorage
from . import actors, objects
from .inbox import Inbox, InboxError, Incoming
from .objects import Actor

bp = Blueprint("fediverse", __name__)
AP_TYPE = "application/activity+json"
PAGE_SIZE = 20
# Site views that answer ActivityStreams JSON to clients asking for it.
NEGOTIATED = {"site.article", "site.term", "site.front"}


def wants_activity(accept: str) -> bool:
    """True when ``accept`` ranks ActivityStreams JSON above HTML (what fediverse servers send)."""
    if "activity+json" not in accept and "ld+json" not in accept:
        return False
    best_ap = best_html = 0.0
    for item in accept.split(","):
        kind, *params = [p.strip() for p in item.split(";")]
        q = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if kind.lower() in ("application/activity+json", "application/ld+json"):
            best_ap = max(best_ap, q)
        elif kind.lower() in ("text/html", "application/xhtml+xml"):
            best_html = max(best_html, q)
    return best_ap > 0 and best_ap >= best_html


def ap_response(doc: Any, status: int = 200) -> Response:
    response = Response(json.dumps(doc, ensure_ascii=False), status=status, mimetype=AP_TYPE)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.vary.add("Accept")
    return response


def error(status: int, message: str) -> Response:
    response = Response(json.dumps({"error": message}), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def fedi() -> FediStorage:
    from flask import g

    if "fedi" not in g:
        g.fedi = FediStorage(current_app.config["DATABASE"])
    return g.fedi


@bp.teardown_app_request
def _close(_exc: BaseException | None) -> None:
    from flask import g

    storage = g.pop("fedi", None)
    if storage is not None:
        storage.close()


def site_url() -> str:
    return current_app.config["SITE_URL"]


def find_actor(kind: str, slug: str = "") -> Actor:
    found = actors.actor_for(get_store(), current_app.config, kind, slug)
    if found is None:
        raise NotFound()
    return found


def actor_json(actor: Actor) -> dict[str, Any]:
    public, _private = actors.keys(fedi(), actor.id(site_url()))
    return objects.actor_document(actor, site_url(), public, current_app.config)


def article_json(article: Article) -> dict[str, Any]:
    return objects.with_context(objects.article_object(article, site_url()), current_app.config["SITE_LANGUAGE"])


# ---- discovery


@bp.get("/.well-known/webfinger")
def webfinger() -> Response:
    resource = request.args.get("resource", "")
    host = urlsplit(site_url()).netloc
    actor = None
    if resource.startswith("acct:"):
        user, _, domain = resource[5:].lstrip("@").partition("@")
        if domain.lower() != host.lower():
            return error(404, f"{resource!r} is not an account of {host}")
        actor = actors.by_username(get_store(), current_app.config, user)
    elif resource.startswith(site_url() + "/"):
        actor = actors.by_id(get_store(), current_app.config, resource)
    elif not resource:
        return error(400, "the resource parameter is required (acct:user@host)")
    if actor is None:
        return error(404, f"no account {resource!r} here")
    me = actor.id(site_url())
    profile = site_url() + actor.profile_path()
    doc = {
        "subject": f"acct:{actor.username}@{host}",
        "aliases": [me, profile],
        "links": [
            {"rel": "self", "type": AP_TYPE, "href": me},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": profile},
        ],
    }
    response = Response(json.dumps(doc), mimetype="application/jrd+json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/.well-known/host-meta")
def host_meta() -> Response:
    template = site_url() + "/.well-known/webfinger?resource={uri}"
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">'
        f'<Link rel="lrdd" template="{template}"/></XRD>\n'
    )
    return Response(xml, mimetype="application/xrd+xml")


@bp.get("/.well-known/nodeinfo")
def nodeinfo_links() -> Response:
    links = [
        {"rel": f"http://nodeinfo.diaspora.software/ns/schema/{v}", "href": f"{site_url()}/nodeinfo/{v}"}
        for v in ("2.1", "2.0")
    ]
    return Response(json.dumps({"links": links}), mimetype="application/json")


@bp.get("/nodeinfo/<any('2.0', '2.1'):version>")
def nodeinfo(version: str) -> Response:
    from .. import __name__ as package

    store = get_store()
    total = fedi().outbox_count(("site", ""), store.now())
    software: dict[str, Any] = {"name": "syndicate", "version": _version(package)}
    if version == "2.1":
        software["homepage"] = site_url()
    doc = {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": ["rss2.0", "atom1.0"]},
        "openRegistrations": False,
        "usage": {
            "users": {"total": 1 + len(store.terms("category")) + len(store.terms("author"))},
            "localPosts": total,
        },
        "metadata": {"nodeName": current_app.config["SITE_TITLE"]},
    }
    profile = f"http://nodeinfo.diaspora.software/ns/schema/{version}#"
    return Response(json.dumps(doc), content_type=f'application/json; profile="{profile}"')


def _version(package: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return "0"


# ---- actors and collections


@bp.get("/ap/site", defaults={"kind": "site", "slug": ""})
@bp.get("/ap/<any(category, author):kind>/<slug>")
def actor(kind: str, slug: str) -> Response:
    found = find_actor(kind, slug)
    if not wants_activity(request.headers.get("Accept", "")) and "json" not in request.headers.get("Accept", ""):
        response = redirect(found.profile_path(), code=303)
        response.vary.add("Accept")
        return response
    return ap_response(actor_json(found))


@bp.get("/ap/site/outbox", defaults={"kind": "site", "slug": ""})
@bp.get("/ap/<any(category, author):kind>/<slug>/outbox")
def outbox(kind: str, slug: str) -> Response:
    found = find_actor(kind, slug)
    me = found.id(site_url()) + "/outbox"
    store = get_store()
    now = store.now()
    if "page" not in request.args and "before" not in request.args:
        total = fedi().outbox_count(found.scope, now)
        doc = {
            "@context": objects.AS_CONTEXT,
            "id": me,
            "type": "OrderedCollection",
            "totalItems": total,
            "first": me + "?page=true",
        }
        return ap_response(doc)
    before = None
    if "before" in request.args:
        before = _cursor(request.args["before"])
        if before is None:
            return error(400, "malformed 'before' cursor: use the 'next' link of the previous page")
    ids = fedi().outbox_ids(found.scope, now, before, PAGE_SIZE)
    items = []
    for article in store.articles_by_ids(ids):
        obj = objects.article_object(article, site_url())
        items.append(objects.activity("Create", obj["attributedTo"], obj, obj["id"] + "#create", cc=obj["cc"]))
    items.sort(key=lambda a: a["object"]["published"], reverse=True)
    this = me + ("?before=" + request.args["before"] if before else "?page=true")
    doc = {
        "@context": objects.AS_CONTEXT,
        "id": this,
        "type": "OrderedCollectionPage",
        "partOf": me,
        "orderedItems": items,
    }
    if len(ids) == PAGE_SIZE:
        last = fedi().published_key(ids[-1])
        if last is not None:
            doc["next"] = me + "?before=" + base64.urlsafe_b64encode(f"{last[0]}|{last[1]}".encode()).decode()
    return ap_response(doc)


def _cursor(raw: str) -> tuple[str, int] | None:
    try:
        published, _, ident = base64.urlsafe_b64decode(raw.encode()).decode().partition("|")
        if len(published) != 25 or not ident.isdigit() or len(ident) > 18:
            return None
        return published, int(ident)
    except (ValueError, binascii.Error, UnicodeError):
        return None


@bp.get("/ap/site/followers", defaults={"kind": "site", "slug": ""})
@bp.get("/ap/<any(category, author):kind>/<slug>/followers")
def followers(kind: str, slug: str) -> Response:
    found = find_actor(kind, slug)
    me = found.id(site_url()) + "/followers"
    # The count is public, the members are not.
    return ap_response(
        {
            "@context": objects.AS_CONTEXT,
            "id": me,
            "type": "OrderedCollection",
            "totalItems": fedi().follower_count(found.id(site_url())),
        }
    )


@bp.get("/ap/site/following", defaults={"kind": "site", "slug": ""})
@bp.get("/ap/<any(category, author):kind>/<slug>/following")
def following(kind: str, slug: str) -> Response:
    found = find_actor(kind, slug)
    return ap_response(
        {
            "@context": objects.AS_CONTEXT,
            "id": found.id(site_url()) + "/following",
            "type": "OrderedCollection",
            "totalItems": 0,
            "orderedItems": [],
        }
    )


@bp.get("/ap/objects/<ref>")
def article_object(ref: str) -> Response:
    article = _article_by_ref(ref)
    if article is None:
        raise NotFound()
    if not wants_activity(request.headers.get("Accept", "")) and "json" not in request.headers.get("Accept", ""):
        return redirect(article.path, code=303)
    return ap_response(article_json(article))


def _article_by_ref(ref: str) -> Article | None:
    guid = objects.guid_from_ref(ref)
    if guid is None:
        return None
    article = get_store().article_by_guid(guid)
    if article is None or article.status != "published" or article.published > get_store().clock():
        return None
    return article


# ---- inboxes


@bp.post("/ap/inbox", defaults={"kind": "", "slug": ""})
@bp.post("/ap/site/inbox", defaults={"kind": "site", "slug": ""})
@bp.post("/ap/<any(category, author):kind>/<slug>/inbox")
def inbox(kind: str, slug: str) -> Response:
    if kind:
        find_actor(kind, slug)
    incoming = Incoming(
        request.method, request.url, {k.lower(): v for k, v in request.headers.items()}, request.get_data(cache=False)
    )
    try:
        status, message, queued = Inbox(current_app.config, get_store(), fedi()).handle(incoming)
    except InboxError as exc:
        return error(exc.status, exc.message)
    if queued:
        current_app.extensions["fediverse"].deliverer.wake()
    return (
        error(status, message)
        if status >= 400
        else Response(json.dumps({"ok": message}), status=status, mimetype="application/json")
    )


# ---- content negotiation on the site's own pages


@bp.before_app_request
def negotiate() -> Response | None:
    if request.endpoint not in NEGOTIATED or not wants_activity(request.headers.get("Accept", "")):
        return None
    args = request.view_args or {}
    if request.endpoint == "site.front":
        return ap_response(actor_json(find_actor("site"))) if args.get("number") is None else None
    if request.endpoint == "site.term":
        if args.get("kind") not in ("category", "author") or args.get("number") is not None:
            return None
        return ap_response(actor_json(find_actor(args["kind"], args["slug"])))
    article = get_store().article(args.get("slug", ""))
    if article is None or request.path != article.path:
        return None  # the HTML view answers the 404 or the redirect
    return ap_response(article_json(article))


@bp.after_app_request
def vary_on_accept(response: Response) -> Response:
    """Pages that have an ActivityStreams twin say so, so shared caches keep the two apart."""
    if request.endpoint in NEGOTIATED:
        response.vary.add("Accept")
    return response
