"""The fediverse: discovery, actors, objects, outboxes, the inbox and delivery, through the
app's HTTP interface, a real SQLite file and a real remote server on loopback (fedi_support)."""

from __future__ import annotations

import json
import time
from email.utils import formatdate

import pytest

from syndicate.db import get_store
from syndicate.fediverse import net, signatures
from syndicate.store.fediverse import FediStorage

from .api_support import api_app, auth
from .conftest import SITE_URL, make_app
from .fedi_support import Remote

AP = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
FEDI = {"FEDIVERSE_ENABLED": True, "FEDIVERSE_ALLOW_PRIVATE_ADDRESSES": True, "FEDIVERSE_POLL": 0.2}


@pytest.fixture
def remote():
    server = Remote()
    yield server
    server.close()


@pytest.fixture
def app(tmp_path):
    app = api_app(tmp_path / "fedi.db", **FEDI)
    yield app
    app.extensions["fediverse"].close()


@pytest.fixture
def client(app):
    return app.test_client()


def publish(client, **fields):
    data = {
        "title": "Storm hits the coast",
        "summary": "Winds of 150 km/h.",
        "body": "<p>Winds.</p>",
        "category": "world",
        "author": "Ana Lima",
        "tags": ["weather"],
        **fields,
    }
    response = client.post("/api/v1/articles", json=data, headers=auth())
    assert response.status_code == 201, response.json
    return response.json


def post_inbox(client, remote, doc, path="/ap/inbox", **sign):
    body, headers = remote.signed(SITE_URL + path, doc, **sign)
    headers.pop("Host")
    return client.post(path, data=body, headers=headers, base_url=SITE_URL)


def follow(client, remote, target=f"{SITE_URL}/ap/site"):
    doc = {"id": remote.actor_id + "#follow-1", "type": "Follow", "actor": remote.actor_id, "object": target}
    return post_inbox(client, remote, doc)


def fedi_rows(app, sql):
    storage = FediStorage(app.config["DATABASE"])
    try:
        return [tuple(row) for row in storage.conn.execute(sql)]
    finally:
        storage.close()


# ---------------------------------------------------------------------------- discovery


def test_webfinger_finds_the_site_a_category_and_an_author(client):
    publish(client)
    for handle, actor in [("news", "/ap/site"), ("world", "/ap/category/world"), ("ana-lima", "/ap/author/ana-lima")]:
        response = client.get(f"/.well-known/webfinger?resource=acct:{handle}@news.example.com")
        assert response.status_code == 200, handle
        assert response.content_type == "application/jrd+json"
        links = {link["rel"]: link["href"] for link in response.json["links"]}
        assert links["self"] == SITE_URL + actor
        assert response.json["subject"] == f"acct:{handle}@news.example.com"
    assert client.get("/.well-known/webfinger?resource=acct:nobody@news.example.com").status_code == 404
    assert client.get("/.well-known/webfinger?resource=acct:news@elsewhere.example").status_code == 404
    assert client.get("/.well-known/webfinger").status_code == 400


def test_an_author_named_like_a_category_gets_a_distinct_handle(client):
    publish(client, author="World")
    found = client.get("/.well-known/webfinger?resource=acct:world.author@news.example.com")
    assert found.json["links"][0]["href"] == f"{SITE_URL}/ap/author/world"
    assert client.get(f"{SITE_URL}/ap/author/world", headers={"Accept": AP}).json["preferredUsername"] == "world.author"


def test_nodeinfo_is_discoverable_and_counts_the_articles(client):
    publish(client)
    links = client.get("/.well-known/nodeinfo").json["links"]
    href = links[0]["href"]
    assert href == f"{SITE_URL}/nodeinfo/2.1"
    doc = client.get("/nodeinfo/2.1").json
    assert doc["protocols"] == ["activitypub"] and doc["usage"]["localPosts"] == 1
    assert doc["software"]["name"] == "syndicate"
    assert client.get("/nodeinfo/2.0").json["version"] == "2.0"
    assert "lrdd" in client.get("/.well-known/host-meta").get_data(as_text=True)


def test_actors_carry_keys_inboxes_and_a_public_count_of_followers_without_members(client, remote):
    actor = client.get("/ap/site", headers={"Accept": AP})
    assert actor.content_type.startswith(AP)
    doc = actor.json
    assert doc["type"] == "Service" and doc["preferredUsername"] == "news"
    assert doc["inbox"] == f"{SITE_URL}/ap/site/inbox" and doc["endpoints"]["sharedInbox"] == f"{SITE_URL}/ap/inbox"
    assert "BEGIN PUBLIC KEY" in doc["publicKey"]["publicKeyPem"] and doc["publicKey"]["owner"] == doc["id"]
    assert follow(client, remote).status_code == 202
    followers = client.get("/ap/site/followers", headers={"Accept": AP}).json
    assert followers["totalItems"] == 1
    assert "orderedItems" not in followers and "first" not in followers
    # A browser following the actor id lands on the HTML page.
    assert client.get("/ap/site", headers={"Accept": "text/html"}).status_code == 303


# -------------------------------------------------------------------- objects, negotiation


def test_a_permalink_answers_activitystreams_with_a_stable_id(client):
    article = publish(
        client, image_url="https://img.example/storm.jpg", image_caption="Waves on the pier", image_type="image/jpeg"
    )
    path = article["url"][len(SITE_URL) :]
    for accept in (AP, LD):
        response = client.get(path, headers={"Accept": accept})
        assert response.status_code == 200 and response.content_type.startswith(AP)
        doc = response.json
        assert doc["type"] == "Article" and doc["name"] == "Storm hits the coast"
        assert doc["url"]["href"] == article["url"]
        assert doc["attachment"][0] == {
            "type": "Image",
            "url": "https://img.example/storm.jpg",
            "name": "Waves on the pier",
            "mediaType": "image/jpeg",
        }
        assert doc["tag"] == [{"type": "Hashtag", "href": f"{SITE_URL}/tag/weather/", "name": "#weather"}]
        assert doc["contentMap"]["en"] == doc["content"] and "Accept" in response.headers["Vary"]
    stable = doc["id"]
    # The id survives a new slug and date; the object is served at its id too.
    client.patch(f"/api/v1/articles/{article['id']}", json={"slug": "renamed"}, headers=auth())
    assert client.get(stable, headers={"Accept": AP}).json["id"] == stable
    html = client.get(path, headers={"Accept": "text/html"}, follow_redirects=True)
    assert html.content_type.startswith("text/html")


def test_the_cache_keeps_html_and_activitystreams_apart(tmp_path):
    app = api_app(tmp_path / "cached.db", CACHE_TYPE="SimpleCache", **FEDI)
    try:
        client = app.test_client()
        path = publish(client)["url"][len(SITE_URL) :]
        for _ in range(2):
            html = client.get(path, headers={"Accept": "text/html"})
            assert html.content_type.startswith("text/html") and "Accept" in html.headers["Vary"]
            ap = client.get(path, headers={"Accept": AP})
            assert ap.content_type.startswith(AP) and ap.json["type"] == "Article"
            assert client.get("/category/world/", headers={"Accept": LD}).json["type"] == "Service"
            assert client.get("/category/world/").content_type.startswith("text/html")
        assert client.get(path, headers={"Accept": "text/html"}).headers["X-Cache"] == "hit"
    finally:
        app.extensions["fediverse"].close()


def test_outbox_is_paged_newest_first_with_keyset_cursors(db_copy):
    app = make_app(db_copy, **FEDI)
    try:
        client = app.test_client()
        with app.app_context():
            store = get_store()
            visible = store.count(__import__("syndicate.models", fromlist=["Scope"]).Scope("site"))
        top = client.get("/ap/site/outbox", headers={"Accept": AP}).json
        assert top["type"] == "OrderedCollection" and top["totalItems"] == visible
        url, seen, pages = top["first"], [], 0
        while url:
            page = client.get(url, headers={"Accept": AP}).json
            seen += [(a["object"]["published"], a["object"]["id"]) for a in page["orderedItems"]]
            url, pages = page.get("next"), pages + 1
        assert len(seen) == visible == len(set(seen))
        assert [p for p, _ in seen] == sorted((p for p, _ in seen), reverse=True)
        assert client.get("/ap/site/outbox?before=garbage", headers={"Accept": AP}).status_code == 400
        assert client.get("/ap/category/nope/outbox", headers={"Accept": AP}).status_code == 404
    finally:
        app.extensions["fediverse"].close()


# ------------------------------------------------------------------------------- the inbox


def test_a_follow_is_stored_and_answered_with_a_signed_accept(client, remote, app):
    response = follow(client, remote, f"{SITE_URL}/ap/category/world")
    assert response.status_code == 202, response.json
    accept = remote.wait_for("Accept")[0]
    assert accept["actor"] == f"{SITE_URL}/ap/category/world" and accept["object"]["type"] == "Follow"
    delivery = remote.received[0]
    assert delivery["path"] == "/users/alice/inbox"  # the follower's own inbox, not the shared one
    key = client.get("/ap/category/world", headers={"Accept": AP}).json["publicKey"]["publicKeyPem"]
    url = remote.base + delivery["path"]
    found = signatures.parse("POST", url, delivery["headers"], delivery["body"])
    signatures.verify(found, key)  # raises if the Accept is not signed by the category's key
    assert fedi_rows(app, "SELECT actor, follower FROM fedi_followers") == [
        (f"{SITE_URL}/ap/category/world", remote.actor_id)
    ]
    undo = {
        "id": remote.actor_id + "#undo",
        "type": "Undo",
        "actor": remote.actor_id,
        "object": {"type": "Follow", "actor": remote.actor_id, "object": f"{SITE_URL}/ap/category/world"},
    }
    assert post_inbox(client, remote, undo).status_code == 202
    assert fedi_rows(app, "SELECT count(*) FROM fedi_followers") == [(0,)]


def _state(app):
    return fedi_rows(
        app,
        "SELECT (SELECT count(*) FROM fedi_followers), (SELECT count(*) FROM fedi_deliveries),"
        " (SELECT count(*) FROM fedi_reactions)",
    )


@pytest.mark.parametrize("case", ["unsigned", "forged", "stale", "digest", "unknown type", "not json", "other actor"])
def test_the_inbox_refuses_bad_requests_with_a_4xx_and_changes_nothing(client, remote, app, case):
    doc = {"id": remote.actor_id + "#f", "type": "Follow", "actor": remote.actor_id, "object": f"{SITE_URL}/ap/site"}
    body, headers = remote.signed(SITE_URL + "/ap/inbox", doc)
    headers.pop("Host")
    expected = 401
    if case == "unsigned":
        headers.pop("Signature")
    elif case == "forged":
        body, headers = remote.signed(SITE_URL + "/ap/inbox", doc, private_pem=signatures.generate_key()[1])
        headers.pop("Host")
    elif case == "stale":
        headers["Date"] = formatdate(time.time() - 7200, usegmt=True)
    elif case == "digest":
        body = body.replace(b"Follow", b"Fellow")
    elif case == "unknown type":
        body, headers = remote.signed(SITE_URL + "/ap/inbox", {**doc, "type": "Flag"})
        headers.pop("Host")
        expected = 422
    elif case == "not json":
        body, headers = b"{nope", {"Content-Type": AP}
        expected = 400
    elif case == "other actor":
        body, headers = remote.signed(SITE_URL + "/ap/inbox", {**doc, "actor": "http://127.0.0.1:9/users/bob"})
        headers.pop("Host")
    before = _state(app)
    response = client.post("/ap/inbox", data=body, headers=headers, base_url=SITE_URL)
    assert response.status_code == expected, response.json
    assert {"stale": "stale", "digest": "Digest header does not match"}.get(case, "") in response.json["error"]
    assert _state(app) == before


def test_likes_boosts_and_replies_are_counted_not_stored(client, remote, app, runner):
    oid = client.get(publish(client)["url"], headers={"Accept": AP}).json["id"]
    like = {"id": remote.actor_id + "#like", "type": "Like", "actor": remote.actor_id, "object": oid}
    boost = {"id": remote.actor_id + "#boost", "type": "Announce", "actor": remote.actor_id, "object": oid}
    reply = {
        "id": remote.actor_id + "#c",
        "type": "Create",
        "actor": remote.actor_id,
        "object": {"id": remote.actor_id + "/notes/1", "type": "Note", "inReplyTo": oid, "content": "SECRET"},
    }
    for doc in (like, boost, reply, like):
        assert post_inbox(client, remote, doc).status_code == 202
    assert "SECRET" not in json.dumps(fedi_rows(app, "SELECT * FROM fedi_reactions"))
    output = runner.invoke(args=["fediverse", "stats"]).output
    assert "1 likes      1 boosts      1 replies  Storm hits the coast" in output
    elsewhere = {**like, "id": remote.actor_id + "#l2", "object": "https://elsewhere.example/notes/1"}
    assert post_inbox(client, remote, elsewhere).status_code == 422


def test_keys_on_private_addresses_are_refused_unless_allowed(tmp_path, remote):
    app = api_app(tmp_path / "strict.db", FEDIVERSE_ENABLED=True)
    try:
        response = follow(app.test_client(), remote)
        assert response.status_code == 401 and "non-public address" in response.json["error"]
        assert fedi_rows(app, "SELECT count(*) FROM fedi_followers") == [(0,)]
    finally:
        app.extensions["fediverse"].close()
    for url in (
        "http://127.0.0.1/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "file:///etc/passwd",
    ):
        with pytest.raises(net.FetchError):
            net.check_address(url, allow_private=False)


# ------------------------------------------------------------------------------ signatures


def test_signatures_round_trip_and_fail_on_any_change():
    public, private = signatures.generate_key()
    body = b'{"type":"Follow"}'
    headers = {
        k.lower(): v
        for k, v in signatures.sign_request(
            "POST", "https://a.example/inbox", body, "https://b.example/u#k", private
        ).items()
    }
    found = signatures.parse("POST", "https://a.example/inbox", headers, body)
    signatures.verify(found, public)
    with pytest.raises(signatures.SignatureError):
        signatures.verify(signatures.parse("POST", "https://a.example/other", headers, body), public)
    with pytest.raises(signatures.SignatureError):
        signatures.verify(found, signatures.generate_key()[0])


def test_rfc9421_signatures_from_another_implementation_verify():
    import http_message_signatures
    import requests
    from cryptography.hazmat.primitives import serialization

    public, private = signatures.generate_key()
    body = b'{"type":"Like"}'
    url = "https://a.example/ap/inbox?x=1"
    request = requests.Request("POST", url, data=body, headers={"Content-Type": AP}).prepare()

    class Keys(http_message_signatures.HTTPSignatureKeyResolver):
        def resolve_private_key(self, key_id):
            return serialization.load_pem_private_key(private.encode(), None)

    signer = http_message_signatures.HTTPMessageSigner(
        signature_algorithm=http_message_signatures.algorithms.RSA_V1_5_SHA256, key_resolver=Keys()
    )
    signer.sign(
        request,
        key_id="https://b.example/u#k",
        body=body,
        covered_component_ids=("@method", "@target-uri", "content-digest"),
    )
    headers = {k.lower(): v for k, v in request.headers.items()}
    found = signatures.parse("POST", "https://a.example/ap/inbox?x=1", headers, body)
    assert found.scheme == "rfc9421" and found.key_id == "https://b.example/u#k"
    signatures.verify(found, public)
    with pytest.raises(signatures.SignatureError):
        signatures.parse("POST", "https://a.example/ap/inbox?x=1", headers, body + b" ")


# ------------------------------------------------------------------------------- delivery


def test_publish_update_and_delete_reach_followers_once_per_shared_inbox(client, remote):
    follow(client, remote)
    follow(client, remote, f"{SITE_URL}/ap/category/world")
    remote.wait_for("Accept", 2)
    article = publish(client)
    create = remote.wait_for("Create")
    assert len(create) == 1 and create[0]["actor"] == f"{SITE_URL}/ap/author/ana-lima"
    assert {a["actor"] for a in remote.wait_for("Announce", 2)} == {
        f"{SITE_URL}/ap/site",
        f"{SITE_URL}/ap/category/world",
    }
    assert all(r["path"] == "/inbox" for r in remote.received if json.loads(r["body"])["type"] != "Accept")
    client.patch(f"/api/v1/articles/{article['id']}", json={"title": "Storm weakens"}, headers=auth())
    assert remote.wait_for("Update")[0]["object"]["name"] == "Storm weakens"
    client.delete(f"/api/v1/articles/{article['id']}", headers=auth())
    deleted = remote.wait_for("Delete")[0]
    assert deleted["object"] == {"id": create[0]["object"]["id"], "type": "Tombstone"}


def test_a_write_does_not_wait_for_a_slow_or_dead_inbox(tmp_path, remote):
    app = api_app(tmp_path / "dead.db", **FEDI, FEDIVERSE_BACKOFF=0.05, FEDIVERSE_RETRY_SECONDS=1)
    client = app.test_client()
    try:
        follow(client, remote)
        remote.wait_for("Accept")
        remote.inbox_status = 503
        remote.gate.clear()  # the inbox now holds every delivery until the gate opens
        started = time.monotonic()
        publish(client)
        assert time.monotonic() - started < 20  # the write returned while its delivery was held (30 s)
        remote.gate.set()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not fedi_rows(app, "SELECT inbox FROM fedi_inboxes"):
            time.sleep(0.05)
        assert fedi_rows(app, "SELECT inbox FROM fedi_inboxes") == [(remote.base + "/inbox",)]
        assert fedi_rows(app, "SELECT count(*) FROM fedi_deliveries") == [(0,)]
        assert len([r for r in remote.received if b'"Create"' in r["body"]]) >= 2  # it was retried
        result = app.test_cli_runner().invoke(args=["fediverse", "queue"])
        assert "unreachable since" in result.output
    finally:
        app.extensions["fediverse"].close()


def test_a_restart_loses_nothing_queued(tmp_path, remote):
    path = tmp_path / "restart.db"
    first = api_app(path, **FEDI, FEDIVERSE_BACKOFF=0.05)
    client = first.test_client()
    follow(client, remote)
    remote.wait_for("Accept")
    first.extensions["fediverse"].close()  # the process "dies": its workers stop
    publish(client)
    time.sleep(0.3)
    assert remote.activities("Create") == []
    assert fedi_rows(first, "SELECT count(*) FROM fedi_deliveries")[0][0] >= 1
    second = make_app(path, **FEDI)
    try:
        assert len(remote.wait_for("Create")) == 1
    finally:
        second.extensions["fediverse"].close()


def test_cli_lists_followers_retries_and_rotates_keys(client, remote, runner, app):
    follow(client, remote)
    remote.wait_for("Accept")
    assert remote.actor_id in runner.invoke(args=["fediverse", "followers"]).output
    before = client.get("/ap/site", headers={"Accept": AP}).json["publicKey"]["publicKeyPem"]
    assert "New keys for" in runner.invoke(args=["fediverse", "rotate-keys", "--actor", "site"]).output
    assert client.get("/ap/site", headers={"Accept": AP}).json["publicKey"]["publicKeyPem"] != before
    assert runner.invoke(args=["fediverse", "rotate-keys", "--actor", "category/nope"]).exit_code != 0
    assert "due now" in runner.invoke(args=["fediverse", "retry"]).output
    exported = runner.invoke(args=["export"]).output
    assert "PRIVATE KEY" not in exported and "fedi_" not in exported


def test_a_scheduled_article_is_sent_when_it_falls_due(tmp_path, remote):
    app = api_app(tmp_path / "scheduled.db", **FEDI, WEBSUB_SCHEDULE_POLL=0.1)
    client = app.test_client()
    try:
        follow(client, remote)
        remote.wait_for("Accept")
        due = time.gmtime(time.time() + 2)
        publish(client, published=time.strftime("%Y-%m-%dT%H:%M:%SZ", due))
        time.sleep(0.5)
        assert remote.activities("Create") == []  # not before its time
        assert remote.wait_for("Create", timeout=10)[0]["object"]["name"] == "Storm hits the coast"
    finally:
        app.extensions["fediverse"].close()


def test_a_deleted_account_stops_following(client, remote, app):
    follow(client, remote)
    follow(client, remote, f"{SITE_URL}/ap/category/world")
    gone = {"id": remote.actor_id + "#delete", "type": "Delete", "actor": remote.actor_id, "object": remote.actor_id}
    assert post_inbox(client, remote, gone).status_code == 202
    assert fedi_rows(app, "SELECT count(*) FROM fedi_followers") == [(0,)]
    someone_else = {**gone, "id": remote.actor_id + "#d2", "object": "https://elsewhere.example/users/bob"}
    assert post_inbox(client, remote, someone_else).status_code == 422
