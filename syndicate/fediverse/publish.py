"""From article writes to queued activities: Create, Update, Delete and Announce.

The author (or the site, for an article without one) sends Create/Update/Delete to every
server that follows the site, the article's category or its author: one delivery per shared
inbox. The site and the category also Announce (boost) a new article to their own followers,
so it shows in the home timeline of whoever follows them rather than the author.

Called after API writes (``after_write``) and by ``ScheduleWatcher`` when a scheduled article
falls due (no write happens then). Bulk imports are archive loads: they are not pushed to
followers (they show in the outboxes).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time

from flask import Flask

from ..models import Article
from ..store import Store, utcnow
from ..store.fediverse import FediStorage
from . import actors
from .delivery import stamp
from .objects import activity, article_object, object_id, tombstone, with_context

log = logging.getLogger("syndicate.fediverse")


def _visible(article: Article | None) -> bool:
    return article is not None and article.status == "published" and article.published <= utcnow()


def federate(config: dict, fedi: FediStorage, guid: str, before: Article | None, after: Article | None) -> list[str]:
    """Queue what followers must hear about one article's change. Returns the activity types."""
    site = config["SITE_URL"]
    oid = object_id(site, guid)
    now = stamp(time.time())
    shown_by = {a.id(site): a for art in (before, after) if art is not None for a in actors.actors_of(config, art)}
    follower_inboxes = fedi.inboxes(list(shown_by))
    sent: list[str] = []
    with fedi.transaction():
        state = fedi.object_state(guid)
        if _visible(after):
            assert after is not None
            kind = "Update" if state == "live" else "Create"
            fedi.set_object_state(guid, oid, "live", now)
            obj = with_context(article_object(after, site), config["SITE_LANGUAGE"])
            del obj["@context"]
        elif state == "live":
            kind, obj = "Delete", tombstone(site, guid)
            fedi.set_object_state(guid, oid, "deleted", now)
        else:
            return sent
        article = after if after is not None else before
        assert article is not None
        sender = actors.actors_of(config, article)[-1] if article.author else actors.site_actor(config)
        sender_id = sender.id(site)
        suffix = "" if kind == "Create" else "-" + hashlib.sha256(now.encode()).hexdigest()[:12]
        body = activity(kind, sender_id, obj, f"{oid}#{kind.lower()}{suffix}", cc=[f"{a}/followers" for a in shown_by])
        if follower_inboxes:
            fedi.enqueue(sender_id, json.dumps(body), follower_inboxes, now)
        sent.append(kind)
        if kind == "Create":
            for booster in actors.actors_of(config, article)[:2]:
                booster_id = booster.id(site)
                inboxes = fedi.inboxes([booster_id])
                if inboxes and booster_id != sender_id:
                    boost = activity(
                        "Announce",
                        booster_id,
                        oid,
                        f"{booster_id}/announces/{oid.rsplit('/', 1)[1]}",
                        cc=[booster_id + "/followers", sender_id],
                    )
                    fedi.enqueue(booster_id, json.dumps(boost), inboxes, now)
                    sent.append("Announce")
    return sent


def after_write(app: Flask, previous: Article | None, saved: Article | None) -> list[str]:
    """The hook for writers: queue activities for one article's change (never raises, never
    waits for delivery)."""
    federation = app.extensions.get("fediverse")
    if federation is None or (previous is None and saved is None):
        return []
    guid = (saved or previous).guid  # type: ignore[union-attr]
    fedi = FediStorage(app.config["DATABASE"])
    try:
        kinds = federate(app.config, fedi, guid, previous, saved)
    except Exception:  # federation must never break a write that already committed
        log.exception("fediverse: could not queue activities for %s", guid)
        return []
    finally:
        fedi.close()
    if kinds:
        federation.deliverer.wake()
    return kinds


class ScheduleWatcher:
    """Queues Creates for scheduled articles when they fall due (mirrors websub.ScheduleWatcher)."""

    def __init__(self, app: Flask, poll: float) -> None:
        self.app = app
        self.poll = max(0.05, poll)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fediverse-schedule", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        store = Store(self.app.config["DATABASE"])
        try:
            since = store.now()
            while not self._stop.is_set():
                due = store.next_scheduled()
                wait = self.poll
                if due is not None:
                    wait = min(wait, max(0.05, (due - store.clock()).total_seconds() + 0.05))
                if self._stop.wait(wait):
                    return
                now = store.now()
                ids = store.became_visible(since, now)
                since = now
                for article in store.articles_by_ids(ids):
                    after_write(self.app, None, article)
        except Exception:
            log.exception("fediverse: the schedule watcher stopped")
        finally:
            store.close()

    def close(self) -> None:
        self._stop.set()
