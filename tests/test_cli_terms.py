"""``syndicate category|tag|author``: managing terms from the command line, refusals that say
why and write nothing, and export/import keeping what was set."""

from __future__ import annotations

import json

import pytest

from .api_support import auth, checksum
from .conftest import make_app


@pytest.fixture
def app(tmp_path):
    from .api_support import api_app

    return api_app(tmp_path / "cli.db")


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_a_newsroom_sets_up_its_sections_from_nothing(app):
    for slug in ("world", "economy", "science"):
        assert run(app, "category", "delete", slug).exit_code == 0
    assert run(app, "category", "list").output == "No categories.\n"
    assert run(app, "category", "add", "Politics", "--description", "Votes and laws").exit_code == 0
    assert run(app, "category", "add", "Sport").exit_code == 0
    assert run(app, "category", "add", "Culture", "--slug", "arts").output == "Added category 'arts' (Culture).\n"
    assert run(app, "category", "move", "arts", "1").output == "Order: arts, politics, sport\n"
    listed = run(app, "category", "list").output.splitlines()
    assert [line.split("\t")[0] for line in listed] == ["arts", "politics", "sport"]
    assert "description='Votes and laws'" in listed[1]
    assert run(app, "author", "add", "Sara Ahmadi", "--bio", "Tehran correspondent").exit_code == 0
    assert run(app, "tag", "add", "اقتصاد").output == "Added tag 'اقتصاد' (اقتصاد).\n"
    # The API now takes the new sections, and the site shows them in order.
    client = app.test_client()
    created = client.post("/api/v1/articles", json={"title": "Vote", "category": "politics"}, headers=auth())
    assert created.status_code == 201
    nav = client.get("/").get_data(as_text=True)
    assert nav.index("Culture") < nav.index("Politics") < nav.index("Sport")


@pytest.mark.parametrize(
    "args, message",
    [
        (["category", "add", "World"], "another category already has the slug 'world'"),
        (["category", "add", " \u200b "], "--name: is empty"),
        (["category", "add", "X", "--slug", "Bad Slug"], "--slug: may contain only lowercase"),
        (["tag", "add", "x" * 201], "--name: longer than 200 characters"),
        (["category", "rename", "world"], "nothing to change: give at least one of --name, --new-slug"),
        (["category", "rename", "nowhere", "--name", "N"], "no category with slug 'nowhere'"),
        (["category", "rename", "world", "--new-slug", "economy"], "another category already has the slug"),
        (["category", "move", "nowhere", "1"], "no category with slug 'nowhere'"),
        (["tag", "merge", "nowhere", "seed"], "no tag with slug 'nowhere'"),
        (["author", "delete", "ann", "--move-to", "nobody"], "no author with slug 'nobody' to move the articles to"),
    ],
)
def test_refusals_say_why_and_write_nothing(app, args, message):
    app.test_client().post("/api/v1/articles", json={"title": "T", "author": "Ann", "tags": ["seed"]}, headers=auth())
    before = checksum(app)
    result = run(app, *args)
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Traceback" not in result.output
    assert checksum(app) == before


def test_deleting_a_category_with_articles_says_how_many_and_how_to_move_them(app):
    client = app.test_client()
    for status in ("published", "draft", "published"):
        client.post("/api/v1/articles", json={"title": "T", "category": "world", "status": status}, headers=auth())
    before = checksum(app)
    refused = run(app, "category", "delete", "world")
    assert refused.exit_code == 1
    assert "category 'world' still has 3 articles; nothing was deleted" in refused.output
    assert "syndicate category delete world --move-to OTHER" in refused.output
    assert checksum(app) == before
    moved = run(app, "category", "delete", "world", "--move-to", "economy")
    assert moved.exit_code == 0 and "its 3 articles moved to 'economy'" in moved.output
    assert "economy\tEconomy\t3 articles" in run(app, "category", "list").output
    assert client.get("/category/world/").headers["Location"] == "https://news.example.com/category/economy/"


def test_merging_tags_moves_their_articles(app):
    client = app.test_client()
    both = client.post("/api/v1/articles", json={"title": "A", "tags": ["Climate", "Weather"]}, headers=auth()).json
    client.post("/api/v1/articles", json={"title": "B", "tags": ["Climate"]}, headers=auth())
    result = run(app, "tag", "merge", "climate", "weather")
    assert result.output == "Merged tag 'climate' into 'weather' (2 articles).\n"
    assert "weather\tWeather\t2 articles" in run(app, "tag", "list").output
    tags = client.get(f"/api/v1/articles/{both['id']}", headers=auth()).json["tags"]
    assert tags == [{"slug": "weather", "name": "Weather"}]
    assert client.get("/tag/climate/feed/atom/").headers["Location"].endswith("/tag/weather/feed/atom/")


def test_rename_then_export_and_import_keep_the_terms(app, tmp_path):
    client = app.test_client()
    client.post("/api/v1/articles", json={"title": "A", "category": "world", "author": "Ann"}, headers=auth())
    run(app, "category", "rename", "world", "--new-slug", "international", "--name", "International",
        "--description", "Abroad", "--position", "4")  # fmt: skip
    run(app, "author", "rename", "ann", "--bio", "Foreign desk")
    exported = tmp_path / "out.jsonl"
    assert run(app, "export", "-o", str(exported)).exit_code == 0
    first = json.loads(exported.read_text().splitlines()[0])["syndicate_terms"]
    assert {"slug": "international", "name": "International", "description": "Abroad", "position": 4} in first[
        "categories"
    ]
    other = make_app(tmp_path / "other.db")
    assert run(other, "import", str(exported)).exit_code == 0
    assert (
        "international\tInternational\t1 article  position=4  description='Abroad'"
        in run(other, "category", "list").output
    )
    assert "bio='Foreign desk'" in run(other, "author", "list").output
