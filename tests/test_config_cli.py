"""Settings loading and validation; the operator CLI through click's runner."""

from __future__ import annotations

import json

import pytest

from syndicate import create_app
from syndicate.config import ConfigError
from syndicate.store import SCHEMA_VERSION

from .conftest import DEMO_UNTIL, make_app


@pytest.mark.parametrize(
    ("name", "value"),
    [("SITE_URL", "news.example.com"), ("SITE_URL", "ftp://x"), ("PER_PAGE", 0), ("PER_PAGE", "ten"),
     ("TIMEZONE", "Mars/Olympus"), ("FEED_CONTENT", "everything"), ("CACHE_TYPE", "Bogus"),
     ("FEED_ITEMS", 100000)],
)  # fmt: skip
def test_a_bad_setting_fails_at_start_up_naming_it(tmp_path, name, value):
    with pytest.raises(ConfigError, match=name):
        make_app(tmp_path / "x.db", **{name: value})


def test_environment_variables_override_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNDICATE_PER_PAGE", "25")
    monkeypatch.setenv("SYNDICATE_SITE_TITLE", "Evening Post")
    app = create_app({"DATABASE": str(tmp_path / "e.db"), "CACHE_TYPE": "NullCache"})
    assert app.config["PER_PAGE"] == 25 and app.config["SITE_TITLE"] == "Evening Post"
    monkeypatch.setenv("SYNDICATE_PER_PAGE", "lots")
    with pytest.raises(ConfigError, match="SYNDICATE_PER_PAGE"):
        create_app({"DATABASE": str(tmp_path / "e.db")})


def test_relative_database_lives_in_the_instance_folder(tmp_path):
    app = create_app({"DATABASE": "relative-test.db", "CACHE_TYPE": "NullCache"})
    try:
        assert app.config["DATABASE"].endswith("instance/relative-test.db")
    finally:
        import os

        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(app.config["DATABASE"] + suffix):
                os.remove(app.config["DATABASE"] + suffix)


def test_init_reports_the_schema_version(runner):
    result = runner.invoke(args=["init"])
    assert result.exit_code == 0 and f"schema version {SCHEMA_VERSION}" in result.output


def test_cli_help_lists_every_command():
    from click.testing import CliRunner

    from syndicate.cli import cli

    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "demo", "import", "export", "serve", "stats", "token"):
        assert command in result.output


def _demo_rows(app, seed):
    from syndicate.db import get_store

    result = app.test_cli_runner().invoke(
        args=["demo", "--articles", "150", "--seed", str(seed), "--until", DEMO_UNTIL]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        store = get_store()
        return store.conn.execute(
            "SELECT guid, slug, title, body, published, updated, status FROM articles ORDER BY guid"
        ).fetchall()


def test_demo_is_deterministic_for_a_seed(tmp_path):
    a = _demo_rows(make_app(tmp_path / "a.db"), 3)
    b = _demo_rows(make_app(tmp_path / "b.db"), 3)
    c = _demo_rows(make_app(tmp_path / "c.db"), 4)
    assert a == b
    assert a != c


def test_demo_archive_looks_like_a_newsroom(demo_app):
    from syndicate.db import get_store

    with demo_app.app_context():
        stats = get_store().stats()
    assert stats["status"]["draft"] > 0 and stats["status"]["scheduled"] > 0
    assert len(stats["categories"]) == 8 and 15 <= len(stats["authors"]) <= 20
    assert stats["tags"] >= 30


def test_stats_prints_counts(demo_app):
    result = demo_app.test_cli_runner().invoke(args=["stats"])
    assert result.exit_code == 0
    assert "Articles: 600" in result.output and "Middle East" in result.output and "MiB" in result.output


def test_export_then_import_round_trips(demo_app, tmp_path):
    out = tmp_path / "export.jsonl"
    result = demo_app.test_cli_runner().invoke(args=["export", "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 + 600  # the terms line, then every article
    terms = json.loads(lines[0])["syndicate_terms"]
    assert [c["name"] for c in sorted(terms["categories"], key=lambda c: c["position"])][:3] == [
        "World",
        "Middle East",
        "Politics",
    ]
    first = json.loads(lines[1])
    assert {"guid", "slug", "title", "body", "published", "updated", "status", "tags"} <= set(first)

    target = make_app(tmp_path / "target.db")
    assert target.test_cli_runner().invoke(args=["import", str(out)]).exit_code == 0
    nav = target.test_client().get("/").get_data(as_text=True)
    assert nav.index(">World<") < nav.index(">Middle East<") < nav.index(">Politics<")  # the newsroom's order


def test_tokens_are_created_listed_and_revoked(runner):
    created = runner.invoke(args=["token", "create", "--name", "partner-x"])
    assert created.exit_code == 0
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("syn_") and len(secret) > 30
    listed = runner.invoke(args=["token", "list"])
    assert "partner-x" in listed.output and secret not in listed.output
    again = runner.invoke(args=["token", "create", "--name", "partner-x"])
    assert again.exit_code != 0 and "already exists" in again.output
    assert runner.invoke(args=["token", "revoke", "partner-x"]).exit_code == 0
    assert "revoked" in runner.invoke(args=["token", "list"]).output
    missing = runner.invoke(args=["token", "revoke", "nobody"])
    assert missing.exit_code != 0 and "no active token" in missing.output


def test_console_script_reports_a_bad_setting_in_one_line(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "SYNDICATE_PER_PAGE": "0", "SYNDICATE_DATABASE": str(tmp_path / "x.db")}
    proc = subprocess.run([sys.executable, "-m", "syndicate", "stats"], capture_output=True, text=True, env=env)
    assert proc.returncode != 0
    assert "Error: PER_PAGE must be a whole number" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_export_import_keeps_old_slugs_redirecting(tmp_path):
    from syndicate.db import get_store
    from syndicate.validation import article_record

    source = make_app(tmp_path / "source.db")
    with source.app_context():
        store = get_store()
        now = store.clock()
        first, _ = store.save_article(article_record({"title": "Old headline", "category": "World"}, now=now))
        store.save_article(article_record({"guid": first.guid, "title": "New headline", "category": "World"}, now=now))
    out = tmp_path / "export.jsonl"
    assert source.test_cli_runner().invoke(args=["export", "-o", str(out)]).exit_code == 0
    assert json.loads(out.read_text().splitlines()[1])["previous_slugs"] == ["old-headline"]

    target = make_app(tmp_path / "target.db")
    result = target.test_cli_runner().invoke(args=["import", str(out)])
    assert result.exit_code == 0, result.output
    client = target.test_client()
    article = client.get("/api/v1/")  # the app is up
    assert article.status_code < 500
    with target.app_context():
        restored = get_store().article("new-headline")
        assert restored.guid == first.guid
    old = client.get(restored.path.replace("new-headline", "old-headline"))
    assert old.status_code == 301 and old.headers["Location"].endswith(restored.path)
    again = tmp_path / "again.jsonl"
    assert target.test_cli_runner().invoke(args=["export", "-o", str(again)]).exit_code == 0
    assert again.read_text() == out.read_text()
