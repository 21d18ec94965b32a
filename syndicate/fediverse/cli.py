"""``syndicate fediverse``: followers, the delivery queue, retries, key rotation, reactions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click
from flask import current_app
from flask.cli import with_appcontext

from ..db import get_store
from ..store import fediverse as storage
from ..store.fediverse import FediStorage
from . import actors
from .delivery import stamp
from .objects import guid_from_ref


@contextmanager
def _storage() -> Iterator[FediStorage]:
    fedi = FediStorage(current_app.config["DATABASE"])
    try:
        storage.migrate(fedi.conn)
        yield fedi
    finally:
        fedi.close()


@click.group("fediverse")
def fediverse_group() -> None:
    """ActivityPub: followers, the delivery queue, keys (see README, "Follow us from the fediverse")."""


@fediverse_group.command("followers")
@click.option("--actor", default="", help="Only this actor: 'site', 'category/<slug>' or 'author/<slug>'.")
@with_appcontext
def followers_command(actor: str) -> None:
    """List who follows the site, its categories and its authors."""
    site = current_app.config["SITE_URL"]
    actor_id = ""
    if actor:
        actor_id = f"{site}/ap/{actor.strip('/')}"
        if actors.by_id(get_store(), current_app.config, actor_id) is None:
            raise click.ClickException(f"no local actor {actor!r} (use site, category/<slug> or author/<slug>)")
    with _storage() as fedi:
        rows = fedi.followers(actor_id or None)
    if not rows:
        click.echo("No followers.")
    for row in rows:
        click.echo(
            f"{row['actor'][len(site) + 4 :]}\t{row['follower']}\t{row['shared_inbox'] or row['inbox']}"
            f"\tsince {row['created'][:19]}"
        )
    click.echo(f"{len(rows)} follower(s).")


@fediverse_group.command("queue")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@with_appcontext
def queue_command(limit: int) -> None:
    """Show queued deliveries (next attempt, tries, last error) and inboxes given up on."""
    with _storage() as fedi:
        rows, total, dead = fedi.queue(limit), fedi.queued_count(), fedi.unreachable()
    for row in rows:
        kind = json.loads(row["body"]).get("type", "?")
        error = f"\t{row['last_error']}" if row["last_error"] else ""
        due = row["next_attempt"][:19]
        click.echo(f"{row['id']}\t{kind}\t{row['inbox']}\tnext {due}\ttries {row['attempts']}{error}")
    click.echo(f"{total} delivery(ies) queued.")
    for inbox, since in dead:
        click.echo(f"unreachable since {since[:19]}: {inbox}")


@fediverse_group.command("retry")
@click.option("--inbox", default="", help="Only this inbox (also clears its 'unreachable' mark).")
@with_appcontext
def retry_command(inbox: str) -> None:
    """Make every queued delivery due now and try unreachable inboxes again."""
    with _storage() as fedi:
        n = fedi.retry_now(stamp(time.time()), inbox or None)
    click.echo(f"{n} delivery(ies) due now; running servers send them within FEDIVERSE_POLL seconds.")


@fediverse_group.command("rotate-keys")
@click.option("--actor", default="", help="Only this actor: 'site', 'category/<slug>' or 'author/<slug>'.")
@with_appcontext
def rotate_keys_command(actor: str) -> None:
    """Replace the actors' signing keys (remote servers fetch the new key on the next signature)."""
    site = current_app.config["SITE_URL"]
    targets = [f"{site}/ap/{actor.strip('/')}"] if actor else []
    if targets and actors.by_id(get_store(), current_app.config, targets[0]) is None:
        raise click.ClickException(f"no local actor {actor!r} (use site, category/<slug> or author/<slug>)")
    with _storage() as fedi:
        done = actors.rotate(fedi, targets)
    click.echo(f"New keys for {len(done)} actor(s)." if done else "No keys yet: nothing to rotate.")


@fediverse_group.command("stats")
@with_appcontext
def stats_command() -> None:
    """Likes, boosts and replies counted per article (never shown on the site)."""
    store = get_store()
    with _storage() as fedi:
        counts = fedi.reaction_counts()
    if not counts:
        click.echo("No reactions yet.")
    for object_id, c in sorted(counts.items(), key=lambda kv: -sum(kv[1].values())):
        guid = guid_from_ref(object_id.rsplit("/", 1)[1]) or ""
        article = store.article_by_guid(guid)
        title = article.title if article else f"(deleted: {guid})"
        click.echo(f"{c['like']:>6} likes {c['announce']:>6} boosts {c['reply']:>6} replies  {title}")
