"""The term API: /api/v1/categories, /tags, /authors; and what a term change does to the site
(old addresses answer 301, GUIDs stay, nothing half-written on a refusal)."""

from __future__ import annotations

import feedparser
import pytest

from .api_support import READ, api_app, auth, checksum


@pytest.fixture
def app(tmp_path):
    return api_app(tmp_path / "terms.db")


@pytest.fixture
def client(app):
    return app.test_client()


def post_article(client, **fields):
    response = client.post("/api/v1/articles", json={"title": "A story", **fields}, headers=auth())
    assert response.status_code == 201, response.json
    return response.json


def test_a_fresh_newsroom_creates_its_categories_then_publishes(tmp_path):
    app = api_app(tmp_path / "fresh.db")
    client = app.test_client()
    for slug in ("world", "economy", "science"):
        assert client.delete(f"/api/v1/categories/{slug}", headers=auth()).status_code == 200
    refused = client.post("/api/v1/articles", json={"title": "T", "category": "Politics"}, headers=auth())
    assert refused.status_code == 422 and "unknown category" in refused.json["fields"]["category"]
    created = client.post(
        "/api/v1/categories", json={"name": "Politics", "description": "Votes", "position": 2}, headers=auth()
    )
    assert created.status_code == 201
    assert created.json["slug"] == "politics" and created.json["description"] == "Votes"
    assert created.headers["Location"] == "https://news.example.com/api/v1/categories/politics"
    article = post_article(client, category="Politics")
    assert article["category"] == {"slug": "politics", "name": "Politics"}
    listed = client.get("/api/v1/categories", headers=auth(READ)).json["categories"]
    assert [(c["slug"], c["articles"]) for c in listed] == [("politics", 1)]
    assert client.get("/politics/").status_code == 404 and client.get("/category/politics/").status_code == 200


def test_names_in_any_script_and_their_slugs(client):
    created = client.post("/api/v1/tags", json={"name": "  اقتصاد\u200b  "}, headers=auth())
    assert created.status_code == 201
    assert created.json["name"] == "اقتصاد" and created.json["slug"] == "اقتصاد"
    assert created.json["url"] == "https://news.example.com/tag/%D8%A7%D9%82%D8%AA%D8%B5%D8%A7%D8%AF/"
    assert client.get("/api/v1/tags/%D8%A7%D9%82%D8%AA%D8%B5%D8%A7%D8%AF", headers=auth(READ)).status_code == 200


@pytest.mark.parametrize(
    "path, body, field",
    [
        ("/api/v1/categories", {"name": ""}, "name"),
        ("/api/v1/categories", {"name": "\u200b "}, "name"),
        ("/api/v1/categories", {"name": "!!!"}, "name"),
        ("/api/v1/categories", {"description": "no name"}, "name"),
        ("/api/v1/categories", {"name": "X", "slug": "Not A Slug"}, "slug"),
        ("/api/v1/categories", {"name": "X", "position": -1}, "position"),
        ("/api/v1/categories", {"name": "X", "bio": "authors only"}, "bio"),
        ("/api/v1/tags", {"name": "x" * 201}, "name"),
        ("/api/v1/authors", {"name": "Ann", "bio": 5}, "bio"),
        ("/api/v1/categories/world", {}, "_"),
        ("/api/v1/categories/world", {"name": None}, "name"),
        ("/api/v1/categories/world", {"slug": ""}, "slug"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(app, client, path, body, field):
    before = checksum(app)
    method = client.patch if path.count("/") == 4 else client.post
    response = method(path, json=body, headers=auth())
    assert response.status_code == 422
    assert field in response.json["fields"], response.json
    assert checksum(app) == before


def test_reads_need_a_token_and_writes_a_write_token(client):
    assert client.get("/api/v1/categories").status_code == 401
    assert client.get("/api/v1/categories", headers=auth(READ)).status_code == 200
    refused = client.post("/api/v1/categories", json={"name": "Sport"}, headers=auth(READ))
    assert refused.status_code == 403 and refused.json["error"] == "token 'partner' is read-only"
    assert client.delete("/api/v1/tags/x", headers=auth(READ)).status_code == 403


def test_a_taken_slug_is_a_conflict(app, client):
    before = checksum(app)
    again = client.post("/api/v1/categories", json={"name": "World"}, headers=auth())
    assert again.status_code == 409 and again.json["fields"] == {"slug": "choose another slug"}
    renamed = client.patch("/api/v1/categories/world", json={"slug": "economy"}, headers=auth())
    assert renamed.status_code == 409
    assert checksum(app) == before


def test_renaming_a_slug_keeps_old_pages_and_feeds_working(app, client):
    article = post_article(client, category="world", tags=["Climate"], author="Ann Lee")
    old_feed = feedparser.parse(client.get("/category/world/feed/").data)
    changed = client.patch(
        "/api/v1/categories/world", json={"slug": "international", "name": "International"}, headers=auth()
    )
    assert changed.status_code == 200 and changed.json["articles"] == 1
    page = client.get("/category/world/")
    assert page.status_code == 301 and page.headers["Location"] == "https://news.example.com/category/international/"
    for old, new in [
        ("/category/world/feed/atom/", "/category/international/feed/atom/"),
        ("/category/world/feed/json/", "/category/international/feed/json/"),
        ("/category/world/feed/?page=2", "/category/international/feed/?page=2"),
        ("/category/world/page/2/", "/category/international/page/2/"),
    ]:
        moved = client.get(old)
        assert moved.status_code == 301 and moved.headers["Location"] == "https://news.example.com" + new
    new_feed = feedparser.parse(client.get("/category/international/feed/").data)
    assert [e.id for e in new_feed.entries] == [e.id for e in old_feed.entries] == [article["guid"]]
    assert new_feed.entries[0].tags[0].term == "International"
    opml = client.get("/feeds.opml").data.decode()
    assert "/category/international/feed/" in opml and "/category/world/" not in opml
    # A script still sending the old slug means the renamed category.
    again = post_article(client, category="world")
    assert again["category"] == {"slug": "international", "name": "International"}
    # A chain of renames still lands.
    client.patch("/api/v1/categories/international", json={"slug": "global"}, headers=auth())
    assert client.get("/category/world/").headers["Location"].endswith("/category/global/")
    gone = client.get("/api/v1/categories/world", headers=auth(READ))
    assert gone.status_code == 404 and "it is now 'global'" in gone.json["error"]


def test_a_rename_is_seen_by_the_cached_pages_at_once(client):
    post_article(client, category="world")
    assert b"World" in client.get("/category/world/").data  # now cached
    client.patch("/api/v1/categories/world", json={"name": "Planet Earth"}, headers=auth())
    assert b"Planet Earth" in client.get("/category/world/").data
    assert b"Planet Earth" in client.get("/").data


def test_deleting_a_category_with_articles_needs_somewhere_to_move_them(app, client):
    post_article(client, category="world")
    post_article(client, category="world", status="draft")
    before = checksum(app)
    refused = client.delete("/api/v1/categories/world", headers=auth())
    assert refused.status_code == 409
    assert "still has 2 articles" in refused.json["error"] and "move_to" in refused.json["fields"]
    missing = client.delete("/api/v1/categories/world?move_to=nowhere", headers=auth())
    assert missing.status_code == 422 and "nowhere" in missing.json["fields"]["move_to"]
    itself = client.delete("/api/v1/categories/world?move_to=world", headers=auth())
    assert itself.status_code == 422
    assert checksum(app) == before
    moved = client.delete("/api/v1/categories/world?move_to=economy", headers=auth())
    assert moved.status_code == 200
    assert moved.json == {"deleted": {"slug": "world", "name": "World"}, "articles": 2, "moved_to": "economy"}
    assert client.get("/api/v1/categories/economy", headers=auth(READ)).json["articles"] == 2
    assert client.get("/category/world/feed/").headers["Location"].endswith("/category/economy/feed/")


def test_deleting_a_tag_takes_it_off_its_articles(client):
    article = post_article(client, tags=["Climate", "Oceans"])
    assert client.delete("/api/v1/tags/climate", headers=auth()).json["articles"] == 1
    tags = client.get(f"/api/v1/articles/{article['id']}", headers=auth(READ)).json["tags"]
    assert tags == [{"slug": "oceans", "name": "Oceans"}]
    assert client.get("/tag/climate/").status_code == 404


def test_deleting_an_author_with_articles_is_refused_unless_moved(client):
    post_article(client, author="Ann Lee")
    client.post("/api/v1/authors", json={"name": "Desk", "bio": "The news desk"}, headers=auth())
    assert client.delete("/api/v1/authors/ann-lee", headers=auth()).status_code == 409
    assert client.delete("/api/v1/authors/ann-lee?move_to=desk", headers=auth()).status_code == 200
    desk = client.get("/api/v1/authors/desk", headers=auth(READ)).json
    assert desk["articles"] == 1 and desk["bio"] == "The news desk"
