"""``syndicate partner``: issue, list, revoke and rotate partner credentials, and show usage.

Only a hash of each secret is stored (the same SHA-256 as API tokens); the secret is shown once.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from .db import get_store
from .partners import SCOPE_KINDS, parse_list
from .store import StoreError

SECRET_PREFIX = "synp_"  # tells a partner secret from an API token at a glance


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _how_to_use(secret: str) -> None:
    site = current_app.config["SITE_URL"]
    click.echo(secret)
    click.echo("Fetch any feed with the header:  Authorization: Bearer <secret>")
    click.echo(f"  e.g. curl -H 'Authorization: Bearer {secret}' {site}/feed/atom/")
    click.echo("or, for readers that cannot send headers (weaker: URLs end up in logs):")
    click.echo(f"  {site}/partner/{secret}/feed/atom/")


@click.group("partner")
def partner_group() -> None:
    """Partners: private full-text feeds with embargoed articles."""


@partner_group.command("add")
@click.argument("name")
@click.option("--scopes", default="", help=f"Feed kinds it may fetch, comma-separated ({', '.join(SCOPE_KINDS)}); "
              "default all.")  # fmt: skip
@click.option("--categories", default="", help="Category slugs it may fetch, comma-separated; default all.")
@click.option("--rate", type=click.IntRange(1, 1_000_000), default=None,
              help="Requests a minute (default: PARTNER_RATE_PER_MINUTE).")  # fmt: skip
@with_appcontext
def partner_add(name: str, scopes: str, categories: str, rate: int | None) -> None:
    """Add partner NAME; its secret is shown once and only its hash is stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise click.BadParameter("give a name of 1 to 100 characters", param_hint="NAME")
    store = get_store()
    try:
        kinds = parse_list(scopes, SCOPE_KINDS)
        slugs = parse_list(categories, [t.slug for t in store.terms("category")], "category")
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if slugs and kinds and "category" not in kinds:
        raise click.BadParameter("--categories needs the category scope (or no --scopes)")
    secret = _new_secret()
    try:
        store.create_partner(name, secret, scopes=kinds, categories=slugs, rate_per_minute=rate)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Partner {name!r} added. Keep this secret; it is not shown again:")
    _how_to_use(secret)


@partner_group.command("list")
@with_appcontext
def partner_list() -> None:
    """List partners (never their secrets)."""
    partners = get_store().partners()
    if not partners:
        click.echo("No partners.")
    for p in partners:
        state = f"revoked {p['revoked']}" if p["revoked"] else "active"
        scopes = ",".join(p["scopes"]) or "all scopes"
        categories = ",".join(p["categories"]) or "all categories"
        rate = f"{p['rate_per_minute']}/min" if p["rate_per_minute"] else "default rate"
        click.echo(f"{p['name']}\t{scopes}\t{categories}\t{rate}\tcreated {p['created']}\t{state}")


@partner_group.command("revoke")
@click.argument("name")
@with_appcontext
def partner_revoke(name: str) -> None:
    """Revoke partner NAME: its next request is refused, in every process."""
    if not get_store().revoke_partner(name):
        raise click.ClickException(f"no active partner named {name!r}")
    click.echo(f"Partner {name!r} revoked.")


@partner_group.command("rotate")
@click.argument("name")
@with_appcontext
def partner_rotate(name: str) -> None:
    """Give partner NAME a new secret; the old one stops working at once."""
    secret = _new_secret()
    if not get_store().rotate_partner(name, secret):
        raise click.ClickException(f"no active partner named {name!r}")
    click.echo(f"Partner {name!r} has a new secret (the old one no longer works):")
    _how_to_use(secret)


@partner_group.command("stats")
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True, help="Days back, today included.")
@click.option("--partner", "name", default=None, help="Only this partner.")
@with_appcontext
def partner_stats(days: int, name: str | None) -> None:
    """Requests, documents and articles delivered per partner per day (UTC)."""
    since = (datetime.now(UTC).date() - timedelta(days=days - 1)).isoformat()
    rows = get_store().partner_usage(since, name)
    if not rows:
        click.echo(f"No partner usage since {since}.")
        return
    click.echo("day\tpartner\trequests\tdocuments\tarticles")
    for row in rows:
        click.echo(f"{row['day']}\t{row['partner']}\t{row['requests']}\t{row['documents']}\t{row['articles']}")
