"""The publishing API as a client sees it: create, read, update, delete, list, authentication,
idempotency, optimistic locking, and a clear JSON error (with nothing written) for bad input."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from syndicate.api_input import encode_cursor
from syndicate.db import get_store

from .api_support import READ, SITE_URL_CHECK, WRITE, api_app, auth, checksum

ARTICLES = "/api/v1/articles"


@pytest.fixture
def app(tmp_path):
    return api_app(tmp_path / "api.db")


@pytest.fixture
def client(app):
    return app.test_client()


def create(client, **fields):
    data = {"title": "Storm hits the coast", "body": "<p>Winds of 150 km/h.</p>", **fields}
    response = client.post(ARTICLES, json=data, headers=auth())
    assert response.status_code == 201, response.json
    return response.json


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------- create/read


def test_create_returns_the_article_with_its_public_url_and_guid(client, app):
    response = client.post(
        ARTICLES,
        json={
            "title": "Storm hits the coast",
            "body": "<p>Winds of <b>150 km/h</b>.</p>",
            "category": "world",
            "author": "Ana Lima",
            "tags": ["weather", "Coast Guard"],
            "published": "2026-03-04T10:00:00+01:00",
        },
        headers=auth(),
    )
    assert response.status_code == 201
    article = response.json
    assert article["guid"].startswith("urn:uuid:")
    assert article["url"] == f"{SITE_URL_CHECK}/2026/03/04/storm-hits-the-coast/"
    assert response.headers["Location"] == article["api_url"]
    assert response.headers["ETag"] == article["etag"]
    assert article["published"] == "2026-03-04T09:00:00+00:00"
    assert article["category"] == {"slug": "world", "name": "World"}
    assert article["author"] == {"slug": "ana-lima", "name": "Ana Lima"}
    assert [t["slug"] for t in article["tags"]] == ["coast-guard", "weather"]
    assert article["created_by"] == article["updated_by"] == "newsroom"
    with app.app_context():
        stored = get_store().article_by_guid(article["guid"])
    assert stored.title == "Storm hits the coast" and stored.created_by == "newsroom"


def test_an_article_is_found_by_id_and_by_guid(client):
    article = create(client)
    by_id = client.get(f"{ARTICLES}/{article['id']}", headers=auth(READ))
    by_guid = client.get(f"{ARTICLES}/{article['guid']}", headers=auth(READ))
    assert by_id.status_code == by_guid.status_code == 200
    assert by_id.json == by_guid.json == article
    assert by_id.headers["ETag"] == article["etag"]
    assert by_id.headers["Cache-Control"] == "no-store"
    missing = client.get(f"{ARTICLES}/urn:uuid:00000000-0000-0000-0000-000000000000", headers=auth(READ))
    assert missing.status_code == 404 and missing.json["error"]


def test_drafts_and_scheduled_articles_are_visible_to_tokens(client):
    draft = create(client, status="draft")
    future = create(client, title="Tomorrow", published=iso(datetime.now(UTC) + timedelta(days=1)))
    assert future["scheduled"] is True and future["status"] == "published"
    assert client.get(f"{ARTICLES}/{draft['id']}", headers=auth(READ)).json["status"] == "draft"
    listed = client.get(f"{ARTICLES}?status=scheduled", headers=auth(READ)).json["articles"]
    assert [a["id"] for a in listed] == [future["id"]]


def test_authors_and_tags_are_created_but_categories_are_not(client, app):
    before = checksum(app)
    response = client.post(ARTICLES, json={"title": "X", "category": "Sport", "author": "New Person"}, headers=auth())
    assert response.status_code == 422
    assert "unknown category 'sport'" in response.json["fields"]["category"]
    assert checksum(app) == before
    article = create(client, author="New Person", tags=["brand new tag"])
    assert article["author"]["slug"] == "new-person" and article["tags"][0]["slug"] == "brand-new-tag"


# ----------------------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer"}, {"Authorization": "Basic dXNlcjpwdw=="}, auth("syn_wrong"), auth(WRITE + "x")],
)
def test_missing_or_wrong_token_is_401_with_a_bearer_challenge(client, app, headers):
    before = checksum(app)
    for method, path in [("get", ARTICLES), ("post", ARTICLES), ("get", f"{ARTICLES}/1"), ("delete", f"{ARTICLES}/1")]:
        response = getattr(client, method)(path, json={"title": "x"} if method == "post" else None, headers=headers)
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.json["error"]
    assert checksum(app) == before


def test_a_revoked_token_is_refused(client, app):
    with app.app_context():
        assert get_store().revoke_token("newsroom")
    response = client.post(ARTICLES, json={"title": "x"}, headers=auth())
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_read_only_token_cannot_write(client, app):
    article = create(client)
    before = checksum(app)
    read = auth(READ)
    assert client.post(ARTICLES, json={"title": "x"}, headers=read).status_code == 403
    assert client.put(f"{ARTICLES}/{article['id']}", json={"title": "x"}, headers=read).status_code == 403
    assert client.patch(f"{ARTICLES}/{article['id']}", json={"title": "x"}, headers=read).status_code == 403
    assert client.delete(f"{ARTICLES}/{article['id']}", headers=read).status_code == 403
    assert checksum(app) == before
    assert client.get(f"{ARTICLES}/{article['id']}", headers=read).status_code == 200


def test_token_use_is_recorded_and_only_a_hash_is_stored(client, app, tmp_path):
    def last_used() -> str | None:
        with app.app_context():
            return {t["name"]: t["last_used"] for t in get_store().tokens()}["partner"]

    assert last_used() is None
    client.get(ARTICLES, headers=auth(READ))
    assert last_used() is not None
    assert WRITE.encode() not in (tmp_path / "api.db").read_bytes()


# ---------------------------------------------------------------------- idempotency/upsert


def test_idempotency_key_replays_the_first_response(client, app):
    body = {"title": "Retried", "tags": ["a"]}
    first = client.post(ARTICLES, json=body, headers=auth(**{"Idempotency-Key": "req-1"}))
    # Same request again (keys in another order): the stored response, and still one article.
    again = client.post(
        ARTICLES, data=json.dumps({"tags": ["a"], "title": "Retried"}), content_type="application/json",
        headers=auth(**{"Idempotency-Key": "req-1"}),
    )  # fmt: skip
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    listed = client.get(ARTICLES, headers=auth()).json["articles"]
    assert len(listed) == 1
    before = checksum(app)
    other = client.post(ARTICLES, json={"title": "Something else"}, headers=auth(**{"Idempotency-Key": "req-1"}))
    assert other.status_code == 422 and "Idempotency-Key" in other.json["fields"]
    assert checksum(app) == before


def test_a_rejected_request_does_not_use_up_its_idempotency_key(client):
    bad = client.post(ARTICLES, json={"title": ""}, headers=auth(**{"Idempotency-Key": "k"}))
    assert bad.status_code == 422
    good = client.post(ARTICLES, json={"title": "Fixed"}, headers=auth(**{"Idempotency-Key": "k"}))
    assert good.status_code == 201


def test_post_with_a_known_guid_updates_that_article(client):
    guid = "urn:uuid:6f1c1a4e-8d2c-4b7b-9a55-0c2f1e9d7a11"
    first = client.post(ARTICLES, json={"guid": guid, "title": "First", "published": "2025-05-01T08:00:00Z"},
                        headers=auth())  # fmt: skip
    second = client.post(ARTICLES, json={"guid": guid, "title": "Second version"}, headers=auth())
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json["id"] == first.json["id"]
    assert second.json["title"] == "Second version"
    # The permalink does not move: published and slug are kept when the update leaves them out.
    assert second.json["url"] == first.json["url"]
    assert len(client.get(ARTICLES, headers=auth()).json["articles"]) == 1


# --------------------------------------------------------------------------- update/delete


def test_patch_changes_only_the_given_fields(client, app):
    article = create(client, category="world", tags=["one"], summary="Old summary", author="Ana")
    with app.app_context():
        get_store().create_token("desk", "syn_desk", "write")
    response = client.patch(f"{ARTICLES}/{article['id']}", json={"summary": "New summary"}, headers=auth("syn_desk"))
    assert response.status_code == 200
    patched = response.json
    assert patched["summary"] == "New summary"
    for name in ("title", "body", "category", "tags", "author", "published", "url", "guid", "created_by"):
        assert patched[name] == article[name], name
    assert patched["updated_by"] == "desk"
    assert patched["etag"] != article["etag"]


def test_patch_status_draft_unpublishes(client):
    article = create(client)
    response = client.patch(f"{ARTICLES}/{article['id']}", json={"status": "draft"}, headers=auth())
    assert response.json["status"] == "draft"
    drafts = client.get(f"{ARTICLES}?status=draft", headers=auth()).json["articles"]
    assert [a["id"] for a in drafts] == [article["id"]]
    assert client.get(f"{ARTICLES}?status=published", headers=auth()).json["articles"] == []


def test_patch_null_clears_a_field(client):
    article = create(client, category="world", image_url="https://img.example.com/a.jpg")
    patched = client.patch(
        f"{ARTICLES}/{article['id']}", json={"category": None, "image_url": None}, headers=auth()
    ).json
    assert patched["category"] is None and patched["image_url"] == ""


def test_put_replaces_the_article_but_keeps_its_identity(client):
    article = create(client, category="world", tags=["x"], summary="S", published="2025-01-02T03:04:05Z")
    response = client.put(f"{ARTICLES}/{article['guid']}", json={"title": "Replaced"}, headers=auth())
    assert response.status_code == 200
    replaced = response.json
    assert replaced["title"] == "Replaced"
    assert replaced["category"] is None and replaced["tags"] == [] and replaced["summary"] == ""
    assert (replaced["guid"], replaced["url"], replaced["published"]) == (
        article["guid"], article["url"], article["published"]
    )  # fmt: skip
    assert client.put(f"{ARTICLES}/{article['id']}", json={"body": "no title"}, headers=auth()).status_code == 422


def test_the_guid_cannot_be_changed(client, app):
    article = create(client)
    before = checksum(app)
    response = client.patch(f"{ARTICLES}/{article['id']}", json={"guid": "urn:other"}, headers=auth())
    assert response.status_code == 422 and "guid" in response.json["fields"]
    assert checksum(app) == before


def test_if_match_prevents_overwriting_a_newer_version(client, app):
    article = create(client)
    path = f"{ARTICLES}/{article['id']}"
    assert (
        client.patch(path, json={"title": "Edit A"}, headers=auth(**{"If-Match": article["etag"]})).status_code == 200
    )
    before = checksum(app)
    stale = client.patch(path, json={"title": "Edit B"}, headers=auth(**{"If-Match": article["etag"]}))
    assert stale.status_code == 412 and stale.json["error"]
    assert client.delete(path, headers=auth(**{"If-Match": article["etag"]})).status_code == 412
    assert checksum(app) == before
    current = client.get(path, headers=auth()).json
    assert current["title"] == "Edit A"
    assert client.patch(path, json={"title": "Edit C"}, headers=auth(**{"If-Match": "*"})).status_code == 200


def test_delete(client, app):
    article = create(client)
    assert client.delete(f"{ARTICLES}/{article['guid']}", headers=auth()).status_code == 204
    assert client.get(f"{ARTICLES}/{article['id']}", headers=auth()).status_code == 404
    assert client.delete(f"{ARTICLES}/{article['id']}", headers=auth()).status_code == 404
    with app.app_context():
        assert get_store().article_by_guid(article["guid"]) is None


# ----------------------------------------------------------------------------------- list


def test_list_pages_through_everything_with_an_opaque_cursor(client):
    ids = {create(client, title=f"Article {n}")["id"] for n in range(7)}
    seen, url, pages = [], f"{ARTICLES}?limit=3", 0
    while url:
        page = client.get(url, headers=auth(READ)).json
        seen += [a["id"] for a in page["articles"]]
        pages += 1
        url = f"{ARTICLES}?limit=3&cursor={page['next']}" if page["next"] else None
    assert sorted(seen) == sorted(ids) and len(seen) == len(ids)
    assert pages == 3
    newest = client.get(f"{ARTICLES}?order=-updated&limit=2", headers=auth(READ)).json
    assert [a["id"] for a in newest["articles"]] == sorted(ids, reverse=True)[:2]
    rest = client.get(f"{ARTICLES}?order=-updated&limit=10&cursor={newest['next']}", headers=auth(READ)).json
    assert [a["id"] for a in rest["articles"]] == sorted(ids, reverse=True)[2:]


def test_an_article_updated_while_paging_is_not_skipped(client):
    a, b, c = (create(client, title=t) for t in "ABC")
    page = client.get(f"{ARTICLES}?limit=2", headers=auth()).json
    assert [x["id"] for x in page["articles"]] == [a["id"], b["id"]]
    time.sleep(1.05)  # times have one-second resolution: the change must land in a later second
    client.patch(f"{ARTICLES}/{a['id']}", json={"summary": "changed"}, headers=auth())
    rest = client.get(f"{ARTICLES}?limit=10&cursor={page['next']}", headers=auth()).json
    assert {x["id"] for x in rest["articles"]} == {c["id"], a["id"]}


def test_list_filters(client):
    world = create(client, category="world", author="Ana")
    economy = create(client, category="economy", author="Bo", published="2020-01-01T00:00:00Z")

    def ids(query):
        response = client.get(f"{ARTICLES}?{query}", headers=auth(READ))
        assert response.status_code == 200, response.json
        return [a["id"] for a in response.json["articles"]]

    assert ids("category=world") == [world["id"]]
    assert ids("author=bo") == [economy["id"]]
    assert ids("category=nosuch") == []
    since = client.get(f"{ARTICLES}/{world['id']}", headers=auth()).json["updated"]
    assert ids("updated_since=" + since.replace("+00:00", "Z")) == [world["id"]]
    assert sorted(ids("")) == sorted([world["id"], economy["id"]])


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=archived", "status"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=ten", "limit"),
        ("updated_since=2026-01-01T00:00:00", "updated_since"),
        ("updated_since=yesterday", "updated_since"),
        ("order=title", "order"),
    ],
)
def test_bad_list_parameters_are_named(client, query, field):
    response = client.get(f"{ARTICLES}?{query}", headers=auth())
    assert response.status_code == 422
    assert field in response.json["fields"]


@pytest.mark.parametrize("cursor", ["garbage", "e30", "WyJ4IiwgMSwgInVwZGF0ZWQiXQ", "%00%ff", "W10"])
def test_a_malformed_cursor_is_400(client, cursor):
    response = client.get(f"{ARTICLES}?cursor={cursor}", headers=auth())
    assert response.status_code == 400 and "cursor" in response.json["fields"]


@pytest.mark.parametrize("article_id", [2**63, -(2**63) - 1, 10**40])
def test_a_cursor_with_an_id_sqlite_cannot_hold_is_400_not_500(client, article_id):
    cursor = encode_cursor(["2026-11-25T10:00:00+00:00", article_id, "updated"])
    response = client.get(f"{ARTICLES}?cursor={cursor}", headers=auth())
    assert response.status_code == 400 and "cursor" in response.json["fields"]
    assert response.is_json


def test_the_largest_image_length_is_kept_exactly(client):
    article = create(client, image_length=2**53 - 1)
    assert article["image_length"] == 2**53 - 1
    assert client.get(f"{ARTICLES}/{article['id']}", headers=auth()).json["image_length"] == 2**53 - 1


# --------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "body, fields",
    [
        ({"body": "<p>no title</p>"}, {"title"}),
        ({"title": "   "}, {"title"}),
        ({"title": "x", "category": "sport"}, {"category"}),
        ({"title": "x", "published": "2026-11-25T10:00:00"}, {"published"}),
        ({"title": "x", "published": "next tuesday"}, {"published"}),
        ({"title": "x", "image_url": "javascript:alert(1)"}, {"image_url"}),
        ({"title": "x", "image_url": "data:image/png;base64,AAAA"}, {"image_url"}),
        ({"title": "x", "image_url": "/relative.jpg"}, {"image_url"}),
        ({"title": 42}, {"title"}),
        ({"title": "x", "tags": 3}, {"tags"}),
        ({"title": "x", "image_length": "big"}, {"image_length"}),
        ({"title": "x", "image_length": True}, {"image_length"}),
        ({"title": "x", "image_length": -1}, {"image_length"}),
        ({"title": "x", "image_length": 2**63}, {"image_length"}),  # SQLite INTEGER overflow: was a 500
        ({"title": "x", "image_length": 2**53}, {"image_length"}),  # beyond what JSON readers keep exact
        ({"title": "x", "status": "live"}, {"status"}),
        ({"title": "x", "author": ["a"]}, {"author"}),
        ({"title": "x", "colour": "red"}, {"colour"}),
        ({"title": "x", "slug": "Not A Slug"}, {"slug"}),
        ({"x": 1, "image_url": "ftp://x", "published": "2026-01-01"}, {"x", "image_url", "published", "title"}),
        ([{"title": "x"}], {"_"}),
        ("just a string", {"_"}),
    ],
)  # fmt: skip
def test_invalid_articles_are_422_naming_every_bad_field(client, app, body, fields):
    before = checksum(app)
    response = client.post(ARTICLES, json=body, headers=auth())
    assert response.status_code == 422
    assert set(response.json["fields"]) == fields
    assert response.json["error"]
    assert checksum(app) == before


def test_patch_with_invalid_fields_changes_nothing(client, app):
    article = create(client)
    before = checksum(app)
    response = client.patch(
        f"{ARTICLES}/{article['id']}", json={"title": "ok", "published": "2026-01-01T00:00"}, headers=auth()
    )
    assert response.status_code == 422 and set(response.json["fields"]) == {"published"}
    assert checksum(app) == before


@pytest.mark.parametrize(
    "data, content_type, status",
    [
        ("{", "application/json", 400),
        ('{"title": "x",}', "application/json", 400),
        ('{"title": NaN}', "application/json", 400),
        ("[" * 100_000, "application/json", 400),
        (b'{"title": "\xff"}', "application/json", 400),
        ("", "application/json", 400),
        ('{"title": "x"}', "text/plain", 415),
        ("title=x", "application/x-www-form-urlencoded", 415),
        ('{"title": "x"}', None, 415),
    ],
)
def test_malformed_bodies(client, app, data, content_type, status):
    before = checksum(app)
    response = client.post(ARTICLES, data=data, content_type=content_type, headers=auth())
    assert response.status_code == status
    assert response.is_json and response.json["error"]
    assert checksum(app) == before


def test_a_body_over_the_size_limit_is_413(tmp_path):
    app = api_app(tmp_path / "small.db", MAX_CONTENT_LENGTH=4096)
    client = app.test_client()
    before = checksum(app)
    response = client.post(ARTICLES, json={"title": "x", "body": "<p>" + "a" * 5000 + "</p>"}, headers=auth())
    assert response.status_code == 413 and response.json["error"]
    assert checksum(app) == before
    assert client.post(ARTICLES, json={"title": "x", "body": "small"}, headers=auth()).status_code == 201


def test_unknown_routes_and_methods_under_the_api_are_json(client):
    missing = client.get("/api/v1/nothing-here", headers=auth())
    assert missing.status_code == 404 and missing.json["error"]
    wrong = client.put(ARTICLES, json={}, headers=auth())
    assert wrong.status_code == 405 and "POST" in wrong.headers["Allow"] and wrong.json["error"]
    assert client.post("/api/v1/openapi.json").status_code == 405


def test_every_error_under_the_api_has_the_one_shape_of_the_openapi_document(tmp_path):
    """Whoever answers (the API's checks, routing outside /api/v1/, werkzeug's 413, a bug), an
    error under /api/ is {"error": ..., "fields"?: {...}}, never stored by a shared cache."""
    app = api_app(tmp_path / "shape.db", MAX_CONTENT_LENGTH=4096, PROPAGATE_EXCEPTIONS=False)

    def boom():
        raise RuntimeError("a bug")

    app.add_url_rule("/api/v1/_boom", "api_boom", boom)
    client = app.test_client()
    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"]["Error"]
    errors = [
        client.get(ARTICLES),  # 401: no token
        client.get(ARTICLES + "?limit=0", headers=auth(READ)),  # 422 with fields
        client.post(ARTICLES, data="{", content_type="application/json", headers=auth()),  # 400
        client.post(ARTICLES, json={"body": "x" * 5000}, headers=auth()),  # 413 from werkzeug
        client.get("/api/v1/nothing-here"),  # 404 from routing
        client.get("/api/no-such-version"),  # 404 outside the blueprint
        client.delete("/api/v1/"),  # 405
        client.get("/api/v1/_boom"),  # 500
    ]
    assert [r.status_code for r in errors] == [401, 422, 400, 413, 404, 404, 405, 500]
    for response in errors:
        body = response.json
        assert set(body) <= set(schema["properties"]) and set(schema["required"]) <= set(body), body
        assert isinstance(body["error"], str) and body["error"]
        assert all(isinstance(v, str) for v in body.get("fields", {}).values())
        assert response.headers["Cache-Control"] == "no-store"
    assert errors[1].json["fields"]["limit"] and "a bug" not in errors[-1].json["error"]


def test_the_index_points_to_the_articles_and_the_openapi_document(client):
    index = client.get("/api/v1/").json
    assert index["openapi"].endswith("/api/v1/openapi.json")
