"""End to end with a real ActivityPub implementation: a Fedify peer (Node, tests/fedipeer/)
discovers our actors by WebFinger, follows the site and a category with signed requests,
receives (and checks with its own signature verification) our Accepts and the Create, Update
and Delete of an article published through the API, and reads our outbox. Our inbox refuses
its requests when their signature is stale or forged.

Needs node and ``npm ci`` in tests/fedipeer (done by .ci/run). Skipped locally without node,
failed in CI (SYNDICATE_REQUIRE_TOOLS=1)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from syndicate.server import create_server

from .api_support import api_app, auth
from .conftest import free_port, require_tool

PEER_DIR = Path(__file__).parent / "fedipeer"
pytestmark = pytest.mark.slow


class Peer:
    def __init__(self, node: str) -> None:
        if not (PEER_DIR / "node_modules" / "@fedify" / "fedify").is_dir():
            message = "tests/fedipeer has no node_modules: run `npm ci` there (.ci/run does)"
            if os.environ.get("SYNDICATE_REQUIRE_TOOLS"):
                pytest.fail(message)
            pytest.skip(message)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [node, "peer.mjs", str(self.port)],
            cwd=PEER_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        line = self.proc.stdout.readline()  # "READY <url>", printed once it listens
        if not line.startswith("READY"):
            self.proc.kill()
            pytest.fail(f"the Fedify peer did not start: {line}{self.proc.stdout.read()}")
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()  # keep its pipe drained

    def call(self, what: str, **body) -> dict:
        request = urllib.request.Request(f"{self.url}/control/{what}", data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def wait_for(self, kind: str, count: int = 1, timeout: float = 20.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.call("received")["received"] if e["type"] == kind]
            if len(found) >= count or time.monotonic() > deadline:
                assert len(found) >= count, f"the peer got {self.call('received')['received']}"
                return found
            time.sleep(0.1)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def peer():
    node = require_tool("node")
    started = Peer(node)
    yield started
    started.close()


@pytest.fixture
def site(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = api_app(
        tmp_path / "site.db",
        SITE_URL=url,
        FEDIVERSE_ENABLED=True,
        FEDIVERSE_ALLOW_PRIVATE_ADDRESSES=True,
        FEDIVERSE_POLL=0.2,
        CACHE_TYPE="SimpleCache",
    )
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield app, url
    app.extensions["fediverse"].close()
    try:
        server.trigger.pull_trigger(server.close)  # closed from inside its own loop, as conftest's LiveServer
    except OSError:  # its trigger is already gone: closing again could close a descriptor reused since
        pass
    thread.join(timeout=10)


def test_a_fedify_peer_follows_us_and_receives_verified_articles(peer, site):
    app, url = site
    host = url.split("//")[1]
    found = peer.call("discover", handle=f"news@{host}")
    assert found["status"] == 200, found
    assert (found["id"], found["type"], found["username"]) == (f"{url}/ap/site", "Service", "news")
    assert found["sharedInbox"] == f"{url}/ap/inbox" and found["webfingerByUrl"] == f"acct:news@{host}"
    world = peer.call("discover", handle=f"world@{host}")
    assert world["id"] == f"{url}/ap/category/world"
    assert peer.call("discover", handle=f"nobody@{host}")["status"] == 404

    # Signed Follows from Fedify; our signed Accepts pass Fedify's own signature checks.
    for actor in (found["id"], world["id"]):
        peer.call("follow", actor=actor)
    accepted = peer.wait_for("Accept", 2)
    assert {a["actor"] for a in accepted} == {found["id"], world["id"]}
    for path in ("/ap/site/followers", "/ap/category/world/followers"):
        with urllib.request.urlopen(
            urllib.request.Request(url + path, headers={"Accept": "application/activity+json"})
        ) as r:
            assert json.loads(r.read())["totalItems"] == 1

    client = app.test_client()
    created = client.post(
        "/api/v1/articles",
        headers=auth(),
        json={
            "title": "Storm hits the coast",
            "summary": "Winds of 150 km/h.",
            "body": "<p>Winds.</p>",
            "category": "world",
            "author": "Ana Lima",
            "tags": ["weather"],
            "image_url": "https://img.example/storm.jpg",
            "image_caption": "Waves on the pier",
        },
    )
    assert created.status_code == 201
    article = created.json
    create = peer.wait_for("Create")[0]
    assert create["actor"] == f"{url}/ap/author/ana-lima" and create["objectType"] == "Article"
    assert create["name"] == "Storm hits the coast" and create["url"] == article["url"]
    assert create["tags"] == ["#weather"] and create["attachments"] == [{"type": "Image", "name": "Waves on the pier"}]
    boosts = peer.wait_for("Announce", 2)
    assert {b["actor"] for b in boosts} == {found["id"], world["id"]} and {b["object"] for b in boosts} == {
        create["object"]
    }

    assert (
        client.patch(f"/api/v1/articles/{article['id']}", json={"title": "Storm weakens"}, headers=auth()).status_code
        == 200
    )
    update = peer.wait_for("Update")[0]
    assert update["object"] == create["object"] and update["name"] == "Storm weakens"

    outbox = peer.call("outbox", url=f"{url}/ap/site/outbox", limit=10)
    assert outbox["totalItems"] == 1 and outbox["items"] == [
        {"type": "Create", "object": create["object"], "name": "Storm weakens"}
    ]

    assert client.delete(f"/api/v1/articles/{article['id']}", headers=auth()).status_code == 204
    assert peer.wait_for("Delete")[0]["object"] == create["object"]
    # Fedify verified everything it recorded; it got each activity once (one shared inbox).
    kinds = [e["type"] for e in peer.call("received")["received"]]
    assert sorted(kinds) == ["Accept", "Accept", "Announce", "Announce", "Create", "Delete", "Update"]


@pytest.mark.parametrize("mode", ["stale", "forged"])
def test_our_inbox_refuses_the_peers_badly_signed_requests(peer, site, mode):
    app, url = site
    answer = peer.call("bad-request", mode=mode, inbox=f"{url}/ap/inbox", object=f"{url}/ap/site")
    assert answer["answer"] == 401, answer
    assert ("stale" if mode == "stale" else "does not match") in json.loads(answer["body"])["error"]
    with urllib.request.urlopen(
        urllib.request.Request(url + "/ap/site/followers", headers={"Accept": "application/activity+json"})
    ) as r:
        assert json.loads(r.read())["totalItems"] == 0
