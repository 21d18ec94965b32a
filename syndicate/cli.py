"""Operator commands: ``syndicate --help`` is the reference.

Every command runs inside the app, so it uses the same settings and database as the server.
"""

from __future__ import annotations

import json
import secrets
import sys
from datetime import UTC, datetime

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo, with_appcontext

from .db import get_store
from .importers.sources import FORMATS
from .store import SCHEMA_VERSION, StoreError, utcnow


@click.group(cls=AppGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--database", metavar="PATH", help="SQLite file to use (default: DATABASE setting).")
@click.pass_context
def cli(ctx: click.Context, database: str | None) -> None:
    """Syndicate: a feed server for news publishers."""
    if not isinstance(ctx.obj, ScriptInfo):
        from . import create_app

        overrides = {"DATABASE": database} if database else None
        ctx.obj = ScriptInfo(create_app=lambda: create_app(overrides))


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create the database, or upgrade it to the current schema."""
    store = get_store()
    version = store.migrate()
    click.echo(f"Database {current_app.config['DATABASE']} is at schema version {version}.")


def _parse_until(value: str | None) -> datetime:
    if not value:
        return utcnow().replace(hour=0, minute=0, second=0)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use a date such as 2026-11-25 or 2026-11-25T18:00:00+00:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@click.command("demo")
@click.option(
    "--articles",
    "count",
    default=12000,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="How many articles to generate.",
)
@click.option("--seed", default=1107, show_default=True, help="Random seed: same seed, same archive.")
@click.option("--until", metavar="DATE", help="Newest publication date (default: today, 00:00 UTC).")
@click.option(
    "--language",
    type=click.Choice(["en", "fa", "ar"]),
    default="en",
    show_default=True,
    help="Language of the articles and names (fa and ar: right to left; set SITE_LANGUAGE to match).",
)
@with_appcontext
def demo_command(count: int, seed: int, until: str | None, language: str) -> None:
    """Fill the database with a deterministic demo news archive."""
    from . import demo, media_folder
    from .validation import article_record

    until_dt = _parse_until(until)
    store = get_store()
    store.migrate()
    demo.write_images(media_folder(current_app) / "demo")
    for position, name in enumerate(demo.LANGUAGES[language]["categories"]):
        from .content import slugify

        store.save_term("category", slugify(name), name, position=position)
    now = store.clock()
    batch: list[dict] = []
    created = updated = 0
    with click.progressbar(length=count, label="Generating articles", file=sys.stderr) as bar:
        for data in demo.articles(count, seed, until_dt, current_app.config["SITE_URL"], language):
            batch.append(article_record(data, now=now))
            if len(batch) == 1000:
                c, u = store.save_articles(batch, actor="demo")
                created, updated = created + c, updated + u
                bar.update(len(batch))
                batch = []
        if batch:
            c, u = store.save_articles(batch, actor="demo")
            created, updated = created + c, updated + u
            bar.update(len(batch))
    store.optimize()
    click.echo(f"Demo archive ready: {created} created, {updated} updated (seed {seed}, until {until_dt:%Y-%m-%d}).")


# A progress bar only when an import is long enough for one to help (by the source's unit).
PROGRESS_MIN = {"bytes": 2 * 1024 * 1024, "items": 1000}


class ImportProgress:
    """The import pipeline's ``on_progress``: a click progress bar on stderr, opened on the first
    report of a long import and closed by ``close``."""

    def __init__(self) -> None:
        self.bar = None
        self.done = 0

    def __call__(self, done: int, total: int | None, unit: str) -> None:
        if self.bar is None:
            if total is None or total < PROGRESS_MIN.get(unit, 0):
                return
            self.bar = click.progressbar(length=total, label="Importing", file=sys.stderr)
            self.bar.__enter__()
        if done > self.done:
            self.bar.update(done - self.done)
            self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@click.command("import")
@click.argument("source")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", *FORMATS]),
    default="auto",
    show_default=True,
    help="Input format (auto: from the content and the file name).",
)
@click.option(
    "--batch-size",
    default=500,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Articles written per transaction.",
)
@click.option("--dry-run", is_flag=True, help="Read and check everything, report, but write nothing.")
@with_appcontext
def import_command(source: str, fmt: str, batch_size: int, dry_run: bool) -> None:
    """Import articles from JSON Lines, CSV, an RSS/Atom feed or JSON Feed (file or URL) or a WordPress export."""
    from .importers import run_import

    progress = ImportProgress()
    try:
        summary = run_import(
            get_store(),
            source,
            fmt,
            config=current_app.config,
            batch_size=batch_size,
            dry_run=dry_run,
            on_event=lambda event: click.echo(str(event)),
            on_progress=progress,
        )
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        progress.close()
    if summary.created + summary.updated > 500 and not dry_run:
        get_store().optimize()
    if summary.ignored:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(summary.ignored.items()))
        click.echo(f"Ignored items that are not posts: {kinds}.")
    click.echo(
        f"Import {'checked (dry run, nothing written)' if dry_run else 'finished'}: {summary.created} created,"
        f" {summary.updated} updated, {summary.unchanged} unchanged, {summary.skipped} skipped."
    )
    if summary.skipped and not (summary.created or summary.updated or summary.unchanged):
        sys.exit(1)


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-", help="File (default: stdout).")
@with_appcontext
def export_command(fmt: str, output) -> None:
    """Export every article (drafts and scheduled too) so that import restores it exactly."""
    from .validation import record_from_article

    store = get_store()
    # First line: what the articles do not carry (category order and descriptions, author bios).
    terms = {"categories": store.term_records("category"), "authors": store.term_records("author")}
    output.write(json.dumps({"syndicate_terms": terms}, ensure_ascii=False) + "\n")
    count = 0
    chunk: list = []

    def flush() -> None:
        redirects = store.previous_slugs([a.id for a in chunk])
        for a in chunk:
            output.write(json.dumps(record_from_article(a, redirects.get(a.id, ())), ensure_ascii=False) + "\n")
        chunk.clear()

    for article in store.export_rows():
        chunk.append(article)
        count += 1
        if len(chunk) == 500:
            flush()
    flush()
    click.echo(f"Exported {count} articles.", err=True)


def _server_option(flag: str, name: str, help: str):
    """A ``serve`` option overriding the setting ``name``, with the setting's own bounds."""
    from .config import INT_LIMITS

    low, high = INT_LIMITS[name]
    return click.option(flag, name.lower(), type=click.IntRange(low, high), help=f"{help} [setting {name}]")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@_server_option("--threads", "SERVER_THREADS", "Worker threads.")
@_server_option("--connection-limit", "SERVER_CONNECTION_LIMIT", "Open connections kept at most.")
@_server_option("--channel-timeout", "SERVER_CHANNEL_TIMEOUT", "Seconds an idle connection is kept.")
@_server_option("--header-timeout", "SERVER_HEADER_TIMEOUT", "Seconds a client may take to send its headers.")
@_server_option("--max-header-size", "SERVER_MAX_HEADER_SIZE", "Largest request line and headers, bytes.")
@_server_option("--backlog", "SERVER_BACKLOG", "Connections waiting in the kernel to be accepted.")
@with_appcontext
def serve_command(host: str, port: int, **limits: int | None) -> None:
    """Serve the site and feeds under waitress (production WSGI server).

    The limits default to the SERVER_* settings (instance/config.py or SYNDICATE_* variables);
    request bodies are limited by MAX_CONTENT_LENGTH."""
    from .server import serve

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    app.config.update({name.upper(): value for name, value in limits.items() if value is not None})
    cfg = app.config
    click.echo(
        f"Serving {cfg['SITE_TITLE']} on http://{host}:{port}/ ({cfg['SERVER_THREADS']} threads,"
        f" up to {cfg['SERVER_CONNECTION_LIMIT']} connections)"
    )
    serve(app, host=host, port=port)


@click.command("stats")
@with_appcontext
def stats_command() -> None:
    """Counts by status, category and author; database size."""
    stats = get_store().stats()
    click.echo(f"Articles: {stats['articles']}  " + "  ".join(f"{k}: {v}" for k, v in stats["status"].items()))
    click.echo(f"Tags: {stats['tags']}  Schema version: {stats['schema_version']}/{SCHEMA_VERSION}")
    click.echo(f"Database size: {stats['database_bytes'] / 1_048_576:.1f} MiB")
    click.echo("By category:")
    for name, n in stats["categories"]:
        click.echo(f"  {n:>7}  {name}")
    click.echo("By author:")
    for name, n in stats["authors"]:
        click.echo(f"  {n:>7}  {name}")


@click.group("token")
def token_group() -> None:
    """Create, list and revoke API tokens."""


@token_group.command("create")
@click.option("--name", required=True, help="Who the token is for, e.g. partner-x.")
@click.option("--scope", type=click.Choice(["write", "read"]), default="write", show_default=True)
@with_appcontext
def token_create(name: str, scope: str) -> None:
    """Create a token; its secret is shown once and only its hash is stored."""
    import sqlite3

    secret = "syn_" + secrets.token_urlsafe(32)
    try:
        get_store().create_token(name, secret, scope)
    except sqlite3.IntegrityError:
        raise click.ClickException(f"a token named {name!r} already exists") from None
    click.echo(f"Token {name!r} ({scope}) created. Keep this secret; it is not shown again:")
    click.echo(secret)


@token_group.command("list")
@with_appcontext
def token_list() -> None:
    """List tokens (names and scopes, never secrets)."""
    tokens = get_store().tokens()
    if not tokens:
        click.echo("No tokens.")
    for t in tokens:
        state = f"revoked {t['revoked']}" if t["revoked"] else "active"
        click.echo(f"{t['name']}\t{t['scope']}\tcreated {t['created']}\t{state}\tlast used {t['last_used'] or 'never'}")


@token_group.command("revoke")
@click.argument("name")
@with_appcontext
def token_revoke(name: str) -> None:
    """Revoke a token by name."""
    if not get_store().revoke_token(name):
        raise click.ClickException(f"no active token named {name!r}")
    click.echo(f"Token {name!r} revoked.")


from .fediverse.cli import fediverse_group  # noqa: E402 (the commands above are defined first)

COMMANDS = [init_command, demo_command, import_command, export_command, serve_command, stats_command, token_group,
            fediverse_group]  # fmt: skip
for _command in COMMANDS:
    cli.add_command(_command)


def register(app: Flask) -> None:
    """The same commands under ``flask --app syndicate`` and the test CLI runner."""
    for command in COMMANDS:
        app.cli.add_command(command)


def main() -> None:
    """Console script: operator mistakes (bad settings, a newer schema) end with one clear line."""
    from .config import ConfigError

    try:
        cli()
    except (ConfigError, StoreError) as exc:
        raise SystemExit(f"Error: {exc}") from None
