"""Which local actors exist (site, categories, authors), their handles, and their keys."""

from __future__ import annotations

from ..models import Article
from ..store import Store, to_db, utcnow
from ..store.fediverse import FediStorage
from . import signatures
from .objects import Actor

AUTHOR_SUFFIX = ".author"


def site_actor(config: dict) -> Actor:
    return Actor("site", "", config["SITE_TITLE"], config["FEDIVERSE_USERNAME"], config.get("SITE_DESCRIPTION", ""))


def _term_summary(store: Store, kind: str, slug: str) -> str:
    for record in store.term_records(kind) if kind in ("category", "author") else []:
        if record["slug"] == slug:
            return record.get("description") or record.get("bio") or ""
    return ""


def author_username(store: Store, config: dict, slug: str) -> str:
    """An author's handle: the slug, unless the site or a category already has that name."""
    if slug == config["FEDIVERSE_USERNAME"] or store.term("category", slug) is not None:
        return slug + AUTHOR_SUFFIX
    return slug


def actor_for(store: Store, config: dict, kind: str, slug: str) -> Actor | None:
    """The local actor of a kind and slug (None when there is no such category or author)."""
    if kind == "site":
        return site_actor(config)
    if kind not in ("category", "author"):
        return None
    term = store.term(kind, slug)
    if term is None:
        return None
    username = slug if kind == "category" else author_username(store, config, slug)
    return Actor(kind, slug, term.name, username, _term_summary(store, kind, slug))


def by_username(store: Store, config: dict, username: str) -> Actor | None:
    """WebFinger's lookup: site first, then a category, then an author."""
    username = username.lower()
    if username == config["FEDIVERSE_USERNAME"].lower():
        return site_actor(config)
    found = actor_for(store, config, "category", username)
    if found is not None:
        return found
    if username.endswith(AUTHOR_SUFFIX):
        found = actor_for(store, config, "author", username[: -len(AUTHOR_SUFFIX)])
        return found if found is not None and found.username == username else None
    found = actor_for(store, config, "author", username)
    return found if found is not None and found.username == username else None


def by_id(store: Store, config: dict, actor_id: str) -> Actor | None:
    site = config["SITE_URL"]
    if not actor_id.startswith(site + "/ap/"):
        return None
    rest = actor_id[len(site) + 4 :].split("/")
    if rest == ["site"]:
        return site_actor(config)
    if len(rest) == 2:
        return actor_for(store, config, rest[0], rest[1])
    return None


def actors_of(config: dict, article: Article) -> list[Actor]:
    """Every local actor that shows the article: the site, its category, its author."""
    out = [site_actor(config)]
    if article.category:
        out.append(Actor("category", article.category.slug, article.category.name, article.category.slug))
    if article.author:
        out.append(Actor("author", article.author.slug, article.author.name, article.author.slug))
    return out


def keys(fedi: FediStorage, actor_id: str) -> tuple[str, str]:
    """(public PEM, private PEM) of a local actor, made on first use."""
    found = fedi.key(actor_id)
    if found is None:
        public, private = signatures.generate_key()
        fedi.save_key(actor_id, public, private, to_db(utcnow()), replace=False)
        found = fedi.key(actor_id)  # another process may have won the race: use what is stored
        assert found is not None
    return found


def rotate(fedi: FediStorage, actor_ids: list[str]) -> list[str]:
    """New key pairs for the given actors (all actors with keys when empty). Returns the ids."""
    targets = actor_ids or fedi.key_actors()
    for actor_id in targets:
        public, private = signatures.generate_key()
        fedi.save_key(actor_id, public, private, to_db(utcnow()), replace=True)
    return targets
