"""Operator commands for terms: ``syndicate category|tag|author add|list|rename|delete``, plus
``category move`` (navigation order) and ``tag merge``. Input goes through the same gate as the
API's (``term_input``); each command is one store transaction; a refusal says why and writes
nothing."""

from __future__ import annotations

from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from .db import get_store
from .store import StoreError
from .store.terms import TermInUse
from .term_input import PLURAL, term_input
from .validation import Invalid

# The options each kind takes besides name and slug: (flag, field, help).
EXTRA_OPTIONS = {
    "category": [
        ("--description", "description", "Shown on the category's page."),
        ("--position", "position", "Place in the navigation (0 first)."),
    ],
    "tag": [],
    "author": [("--bio", "bio", "Shown on the author's page.")],
}


def _fields(kind: str, given: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    data = {k: v for k, v in given.items() if v is not None}
    try:
        return term_input(kind, data, partial=partial)
    except Invalid as exc:
        if "_" in exc.errors:  # nothing given
            flags = ", ".join(["--name", "--new-slug", *(flag for flag, _f, _h in EXTRA_OPTIONS[kind])])
            raise click.ClickException(f"nothing to change: give at least one of {flags}") from None
        problems = "; ".join(f"--{k.replace('_', '-')}: {v}" for k, v in exc.errors.items())
        raise click.ClickException(f"{kind} not saved: {problems}") from None


def _describe(kind: str, record: dict[str, Any]) -> str:
    extras = "".join(f"  {k}={record[k]!r}" for k in ("position", "description", "bio") if k in record)
    n = record["articles"]
    return f"{record['slug']}\t{record['name']}\t{n} article{'s' if n != 1 else ''}{extras}"


def _extra_options(kind: str):
    def decorate(command):
        for flag, _field, help_text in reversed(EXTRA_OPTIONS[kind]):
            kind_of_value = click.IntRange(0, None) if flag == "--position" else str
            command = click.option(flag, type=kind_of_value, help=help_text)(command)
        return command

    return decorate


def term_group(kind: str) -> click.Group:
    """The command group of one kind of term."""

    @click.group(kind, help=f"Create, list, rename and delete {PLURAL[kind]}.")
    def group() -> None:
        pass

    for command in (_add_command, _list_command, _rename_command, _delete_command):
        group.add_command(command(kind))
    if kind == "category":
        group.add_command(move_category)
    if kind == "tag":
        group.add_command(merge_tags)
    return group


def _add_command(kind: str) -> click.Command:
    @click.command("add")
    @click.argument("name")
    @click.option("--slug", help=f"Its address /{kind}/SLUG/ (default: made from the name).")
    @_extra_options(kind)
    @with_appcontext
    def add(name: str, slug: str | None, **extras: Any) -> None:
        """Create one (NAME in any script)."""
        fields = _fields(kind, {"name": name, "slug": slug, **extras}, partial=False)
        try:
            record = get_store().create_term(kind, fields.pop("slug"), fields.pop("name"), **fields)
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Added {kind} {record['slug']!r} ({record['name']}).")

    return add


def _list_command(kind: str) -> click.Command:
    plural = PLURAL[kind]

    @click.command("list")
    @with_appcontext
    def list_() -> None:
        """Slug, name, how many articles (any status) and the other fields of each."""
        records = get_store().term_details(kind)
        if not records:
            click.echo(f"No {plural}.")
        for record in records:
            click.echo(_describe(kind, record))

    return list_


def _rename_command(kind: str) -> click.Command:
    @click.command("rename")
    @click.argument("slug")
    @click.option("--name", help="A new display name.")
    @click.option("--new-slug", "new_slug", help="A new slug (the old addresses answer 301 to the new ones).")
    @_extra_options(kind)
    @with_appcontext
    def rename(slug: str, name: str | None, new_slug: str | None, **extras: Any) -> None:
        """Change a term's name, slug or other fields."""
        fields = _fields(kind, {"name": name, "slug": new_slug, **extras}, partial=True)
        try:
            record = get_store().update_term(kind, slug, fields)
            _purge_proxies()
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
        moved = f" (/{kind}/{slug}/ now redirects here)" if record["slug"] != slug else ""
        click.echo(f"Saved {kind} {record['slug']!r} ({record['name']}){moved}.")

    return rename


def _delete_command(kind: str) -> click.Command:
    @click.command("delete")
    @click.argument("slug")
    @click.option("--move-to", "move_to", metavar="OTHER", help=f"Move its articles to this {kind} first.")
    @with_appcontext
    def delete(slug: str, move_to: str | None) -> None:
        try:
            deleted, count = get_store().delete_term(kind, slug, move_to=move_to)
            _purge_proxies()
        except TermInUse as exc:
            raise click.ClickException(
                f"{kind} {slug!r} still has {exc.articles} article{'s' if exc.articles != 1 else ''}; nothing was"
                f" deleted. Move them with: syndicate {kind} delete {slug} --move-to OTHER"
            ) from None
        except StoreError as exc:
            raise click.ClickException(str(exc)) from None
        if move_to:
            click.echo(f"Deleted {kind} {slug!r}; its {count} articles moved to {move_to!r}, its addresses redirect.")
        else:
            click.echo(f"Deleted {kind} {slug!r}" + (f" (taken off {count} articles)." if count else "."))

    delete.help = (
        f"Delete a {kind}. "
        + ("It is taken off its articles (or merged into OTHER with --move-to)." if kind == "tag" else "")
        + ("" if kind == "tag" else f"A {kind} that still has articles is refused unless --move-to OTHER.")
    )
    return delete


@click.command("move")
@click.argument("slug")
@click.argument("position", type=click.IntRange(1, None))
@with_appcontext
def move_category(slug: str, position: int) -> None:
    """Move a category to POSITION (1 = first) in the navigation; the others keep their order."""
    try:
        order = get_store().move_category(slug, position - 1)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("Order: " + ", ".join(record["slug"] for record in order))


@click.command("merge")
@click.argument("source")
@click.argument("target")
@with_appcontext
def merge_tags(source: str, target: str) -> None:
    """Merge tag SOURCE into TARGET: SOURCE's articles get TARGET, SOURCE is deleted and its
    addresses redirect to TARGET's."""
    try:
        _deleted, count = get_store().delete_term("tag", source, move_to=target)
        _purge_proxies()
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Merged tag {source!r} into {target!r} ({count} articles).")


TERM_COMMANDS = [term_group(kind) for kind in ("category", "tag", "author")]


def _purge_proxies() -> None:
    """A term change shows on many pages: purge every keyed response at the caching proxies."""
    from . import purge

    if not purge.everything_changed_before_exit(current_app._get_current_object()):  # type: ignore[attr-defined]
        click.echo(purge.UNPURGED_WARNING, err=True)
