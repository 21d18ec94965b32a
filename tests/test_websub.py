"""WebSub pings against a real hub endpoint on loopback: every API write pings each affected
feed, in the background; a slow, failing or absent hub never delays or loses the write."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from syndicate import validation, websub
from syndicate.db import get_store

from .api_support import api_app, auth
from .conftest import SITE_URL, free_port

ARTICLES = "/api/v1/articles"


class Hub:
    """A tiny hub: records every publish request; answers ``status`` after ``delay`` seconds."""

    def __init__(self, status: int = 204, delay: float = 0.0) -> None:
        self.status, self.delay = status, delay
        self.requests: list[dict[str, list[str]]] = []
        self.content_types: list[str] = []
        self.lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                with hub.lock:
                    hub.requests.append(form)
                    hub.content_types.append(self.headers.get("Content-Type", ""))
                time.sleep(hub.delay)
                self.send_response(hub.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hub"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def pinged(self) -> list[str]:
        with self.lock:
            return [form["hub.url"][0] for form in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hubs():
    started = []

    def start(**kwargs) -> Hub:
        hub = Hub(**kwargs)
        started.append(hub)
        return hub

    yield start
    for hub in started:
        hub.close()


@pytest.fixture
def apps():
    made = []

    def make(path, hub_url: str, **overrides):
        app = api_app(path, **{"WEBSUB_HUB": hub_url, "WEBSUB_BACKOFF": 0.05, **overrides})
        made.append(app)
        return app

    yield make
    for app in made:
        if websub.pinger(app):
            websub.pinger(app).close()
        if app.extensions.get("websub_schedule"):
            app.extensions["websub_schedule"].close()


def feeds(*paths: str) -> set[str]:
    return {SITE_URL + p + suffix for p in paths for suffix in ("feed/", "feed/atom/", "feed/json/")}


ARTICLE = {"title": "Rates rise", "category": "economy", "author": "Ana Lima", "tags": ["banks", "Rates"]}
ARTICLE_FEEDS = feeds("/", "/category/economy/", "/author/ana-lima/", "/tag/banks/", "/tag/rates/")


def test_a_write_pings_the_hub_for_every_affected_feed(tmp_path, hubs, apps):
    hub = hubs()
    app = apps(tmp_path / "w.db", hub.url)
    client = app.test_client()
    response = client.post(ARTICLES, json=ARTICLE, headers=auth())
    assert response.status_code == 201
    assert websub.pinger(app).wait_idle(10)
    assert set(hub.pinged()) == ARTICLE_FEEDS
    assert len(hub.pinged()) == len(ARTICLE_FEEDS)  # one request per feed
    assert all(form["hub.mode"] == ["publish"] for form in hub.requests)
    assert set(hub.content_types) == {"application/x-www-form-urlencoded"}


def test_moving_an_article_pings_the_feeds_it_left(tmp_path, hubs, apps):
    hub = hubs()
    app = apps(tmp_path / "m.db", hub.url)
    client = app.test_client()
    article = client.post(ARTICLES, json=ARTICLE, headers=auth()).json
    assert websub.pinger(app).wait_idle(10)
    hub.requests.clear()
    client.patch(f"{ARTICLES}/{article['id']}", json={"category": "world", "tags": []}, headers=auth())
    assert websub.pinger(app).wait_idle(10)
    assert set(hub.pinged()) == ARTICLE_FEEDS | feeds("/category/world/")
    hub.requests.clear()
    assert client.delete(f"{ARTICLES}/{article['id']}", headers=auth()).status_code == 204
    assert websub.pinger(app).wait_idle(10)
    assert set(hub.pinged()) == feeds("/", "/category/world/", "/author/ana-lima/")


@pytest.mark.slow
def test_a_slow_hub_does_not_delay_the_write(tmp_path, hubs, apps):
    hub = hubs(delay=2.0)
    app = apps(tmp_path / "s.db", hub.url)
    client = app.test_client()
    started = time.monotonic()
    response = client.post(ARTICLES, json={"title": "Quick"}, headers=auth())
    elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert elapsed < 1.5, f"the write waited for the hub ({elapsed:.2f} s)"
    # The ping does arrive, later.
    deadline = time.monotonic() + 10
    while not hub.pinged() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert hub.pinged()[0] == SITE_URL + "/feed/"
    with app.app_context():
        assert get_store().article_by_guid(response.json["guid"]) is not None


def test_a_failing_hub_is_retried_a_bounded_number_of_times_then_given_up(tmp_path, hubs, apps, caplog):
    hub = hubs(status=500)
    app = apps(tmp_path / "f.db", hub.url, WEBSUB_ATTEMPTS=3)
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="syndicate.websub"):
        response = client.post(ARTICLES, json={"title": "Still saved"}, headers=auth())
        assert response.status_code == 201
        assert websub.pinger(app).wait_idle(20)
    site_feeds = feeds("/")
    assert sorted(hub.pinged()) == sorted(list(site_feeds) * 3)  # 3 attempts each, then no more
    assert set(websub.pinger(app).failed) == site_feeds
    assert any("gave up" in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    assert any("answered 500" in r.getMessage() for r in caplog.records)
    time.sleep(0.3)
    assert len(hub.pinged()) == 9
    with app.app_context():
        assert get_store().article_by_guid(response.json["guid"]).title == "Still saved"


def test_a_hub_that_recovers_gets_the_ping_on_a_retry(tmp_path, hubs, apps):
    hub = hubs(status=503)
    app = apps(tmp_path / "r.db", hub.url, WEBSUB_ATTEMPTS=5, WEBSUB_BACKOFF=0.2)
    client = app.test_client()
    client.post(ARTICLES, json={"title": "Eventually"}, headers=auth())
    deadline = time.monotonic() + 5
    while len(hub.pinged()) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    hub.status = 204
    assert websub.pinger(app).wait_idle(20)
    assert set(websub.pinger(app).sent) == feeds("/")
    assert websub.pinger(app).failed == []


def test_an_unreachable_hub_never_breaks_a_write(tmp_path, apps):
    app = apps(tmp_path / "u.db", f"http://127.0.0.1:{free_port()}/hub", WEBSUB_ATTEMPTS=2)
    client = app.test_client()
    assert client.post(ARTICLES, json={"title": "Nobody listens"}, headers=auth()).status_code == 201
    assert websub.pinger(app).wait_idle(20)
    assert set(websub.pinger(app).failed) == feeds("/")


def test_notify_can_be_called_by_other_writers_and_does_nothing_without_a_hub(tmp_path, hubs, apps):
    plain = api_app(tmp_path / "plain.db")
    with plain.app_context():
        record = validation.article_record({"title": "Imported", "tags": ["x"]}, now=datetime.now(UTC))
        article, _ = get_store().save_article(record, actor="import")
    assert websub.notify(plain, [article]) == []
    assert websub.pinger(plain) is None

    hub = hubs()
    app = apps(tmp_path / "n.db", hub.url)
    queued = websub.notify(app, [article])
    assert set(queued) == feeds("/", "/tag/x/")
    assert websub.pinger(app).wait_idle(10)
    assert set(hub.pinged()) == set(queued)


def test_a_scheduled_article_falling_due_pings_the_hub_without_any_write(tmp_path, hubs, apps):
    from datetime import timedelta

    from syndicate.db import get_store
    from syndicate.validation import article_record

    hub = hubs()
    app = apps(tmp_path / "s.db", hub.url, WEBSUB_SCHEDULE_POLL=0.2)
    with app.app_context():
        store = get_store()
        soon = store.clock() + timedelta(seconds=2)
        # Written straight through the store (as an import would), so no write-time ping.
        store.save_article(article_record({**ARTICLE, "published": soon.isoformat()}, now=store.clock()))
    assert hub.pinged() == []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not ARTICLE_FEEDS <= set(hub.pinged()):
        time.sleep(0.1)
    assert ARTICLE_FEEDS <= set(hub.pinged())
