"""ActivityStreams documents: local actors, articles as objects, and the activities about them.

Actors: the site (``Service``, handle ``FEDIVERSE_USERNAME``, "news" by default), one
``Service`` per category (handle = its slug) and one ``Person`` per author (handle = its slug,
or ``<slug>.author`` when a category or the site already uses that name). Ids live under
``/ap/`` and never depend on titles.

Articles are ``Article`` objects: Mastodon shows an Article as its title (``name``), its
``summary`` and a link to ``url`` (it does not show an Article's ``content``), with the
attached lead image (``name`` = caption = alt text) and the tags as hashtags. The id derives
from the article's guid alone (``/ap/objects/<base64url(guid)>``), so it survives slug or date changes.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

from ..models import Article

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
CONTEXT: list[Any] = [
    AS_CONTEXT,
    SECURITY_CONTEXT,
    {
        "Hashtag": "as:Hashtag",
        "sensitive": "as:sensitive",
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
    },
]


@dataclass(frozen=True)
class Actor:
    """A local actor: the site, a category or an author."""

    kind: str  # "site" | "category" | "author"
    slug: str
    name: str
    username: str
    summary: str = ""

    def id(self, site: str) -> str:
        return f"{site}/ap/site" if self.kind == "site" else f"{site}/ap/{self.kind}/{self.slug}"

    def profile_path(self) -> str:
        return "/" if self.kind == "site" else f"/{self.kind}/{self.slug}/"

    @property
    def scope(self) -> tuple[str, str]:
        return (self.kind, self.slug)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def object_id(site: str, guid: str) -> str:
    """The article's ActivityStreams id: its guid, base64url-encoded, so it never changes (and
    leads back to the article without a lookup table)."""
    return f"{site}/ap/objects/{base64.urlsafe_b64encode(guid.encode()).decode().rstrip('=')}"


def guid_from_ref(ref: str) -> str | None:
    try:
        return base64.urlsafe_b64decode(ref + "=" * (-len(ref) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeError):
        return None


def actor_document(actor: Actor, site: str, public_pem: str, config: dict[str, Any]) -> dict[str, Any]:
    """The actor as Mastodon wants it: inbox, outbox, followers, key, profile link, icon."""
    me = actor.id(site)
    profile = site + actor.profile_path()
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "id": me,
        "type": "Person" if actor.kind == "author" else "Service",
        "preferredUsername": actor.username,
        "name": actor.name,
        "summary": f"<p>{escape(actor.summary)}</p>" if actor.summary else "",
        "url": profile,
        "inbox": me + "/inbox",
        "outbox": me + "/outbox",
        "followers": me + "/followers",
        "following": me + "/following",
        "endpoints": {"sharedInbox": site + "/ap/inbox"},
        "manuallyApprovesFollowers": False,
        "discoverable": True,
        "indexable": True,
        "published": "2000-01-01T00:00:00Z",
        "publicKey": {"id": me + "#main-key", "owner": me, "publicKeyPem": public_pem},
        "attachment": [
            {
                "type": "PropertyValue",
                "name": "Website",
                "value": f'<a href="{escape(profile)}" rel="me">{escape(profile)}</a>',
            }
        ],
    }
    icon = config.get("FEDIVERSE_ICON") or ""
    if icon:
        doc["icon"] = {"type": "Image", "url": icon if "://" in icon else site + icon}
    return doc


def article_object(article: Article, site: str, tag_base: str = "") -> dict[str, Any]:
    """An article as an ActivityStreams ``Article``."""
    permalink = site + article.path
    attributed = Actor("author", article.author.slug, "", "").id(site) if article.author else f"{site}/ap/site"
    audience = [f"{site}/ap/site/followers"]
    if article.category:
        audience.append(f"{site}/ap/category/{article.category.slug}/followers")
    if article.author:
        audience.append(f"{attributed}/followers")
    tags = [{"type": "Hashtag", "href": site + t.path, "name": "#" + "".join(t.name.split())} for t in article.tags]
    hashtags = " ".join(
        f'<a href="{escape(t["href"])}" class="mention hashtag" rel="tag">{escape(t["name"])}</a>' for t in tags
    )
    content = f"<p>{escape(article.summary)}</p>" if article.summary else ""
    content += f'<p><a href="{escape(permalink)}">{escape(permalink)}</a></p>'
    if hashtags:
        content += f"<p>{hashtags}</p>"
    doc: dict[str, Any] = {
        "id": object_id(site, article.guid),
        "type": "Article",
        "name": article.title,
        "summary": article.summary,
        "content": content,
        "url": {"type": "Link", "mediaType": "text/html", "href": permalink},
        "attributedTo": attributed,
        "published": iso(article.published),
        "to": [PUBLIC],
        "cc": audience,
        "tag": tags,
        "attachment": [],
        "sensitive": False,
    }
    if article.was_updated:
        doc["updated"] = iso(article.updated)
    if article.image_url:
        image = {
            "type": "Image",
            "url": article.image_url if "://" in article.image_url else site + article.image_url,
            "name": article.image_caption or "",
        }
        if article.image_type:
            image["mediaType"] = article.image_type
        doc["attachment"].append(image)
        doc["image"] = image
    return doc


# For articles and the activities carrying them: Hashtag and sensitive are not in the AS context.
OBJECT_CONTEXT: list[Any] = [AS_CONTEXT, {"Hashtag": "as:Hashtag", "sensitive": "as:sensitive"}]


def with_context(doc: dict[str, Any], language: str = "") -> dict[str, Any]:
    out = {"@context": OBJECT_CONTEXT, **doc}
    if language and doc.get("type") == "Article":
        out["contentMap"] = {language: doc["content"]}
        out["nameMap"] = {language: doc["name"]}
    return out


def activity(kind: str, actor_id: str, obj: Any, activity_id: str, *, cc: list[str] | None = None) -> dict[str, Any]:
    return {
        "@context": OBJECT_CONTEXT,
        "id": activity_id,
        "type": kind,
        "actor": actor_id,
        "object": obj,
        "to": [PUBLIC],
        "cc": cc or [],
    }


def tombstone(site: str, guid: str) -> dict[str, Any]:
    return {"id": object_id(site, guid), "type": "Tombstone"}
