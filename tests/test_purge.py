"""Purging (purge.py): every write sends its surrogate keys to each proxy, in the background,
coalesced, retried with backoff when the proxy is down, dropped with a log line when it never
comes back; the write itself never fails for it. The proxy here is a real HTTP server on
loopback that records the PURGE requests it gets (tests/test_edge_purge.py uses real Varnish)."""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from syndicate import purge
from syndicate.db import get_store
from syndicate.purge import Purger, Target, http_sender

from .conftest import free_port, make_app

PURGES: list[str] = []  # keys received by hook_target (the PURGE_HOOK test)


def hook_target(keys: list[str]) -> None:
    """A PURGE_HOOK, as a CDN API client would be (named by module:function)."""
    PURGES.extend(keys)


class Proxy:
    """A loopback HTTP server that answers PURGE like deploy/varnish.vcl and records the keys."""

    def __init__(self, port: int = 0, status: int = 200) -> None:
        received = self.received = []
        self.status = status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_PURGE(self) -> None:  # noqa: N802 (the method's name is the HTTP method)
                received.append(self.headers.get("xkey-purge", "").split())
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def keys(self) -> set[str]:
        return {k for batch in self.received for k in batch}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy():
    server = Proxy()
    yield server
    server.close()


def wait_until(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def publish(client, token: str, **fields) -> dict:
    body = {"title": "Ceasefire holds", "body": "<p>Quiet night.</p>", "category": "World", "author": "Ana Lima"}
    body.update(fields)
    response = client.post("/api/v1/articles", json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


@pytest.fixture
def site(tmp_path, proxy):
    app = make_app(tmp_path / "site.db", PURGE_URLS=proxy.url, PURGE_BACKOFF=0.05)
    with app.app_context():
        store = get_store()
        store.save_term("category", "world", "World")
        store.save_term("category", "economy", "Economy")
        store.create_token("newsroom", "secret-token", "write")
    return app


# ------------------------------------------------------------------------ from writes


def test_a_publish_purges_its_keys_before_the_api_answers(site, proxy):
    article = publish(site.test_client(), "secret-token", tags=["Truce"])
    with site.app_context():
        saved = get_store().article_by_id(article["id"])
    # PURGE_WAIT: the purge's first attempt happened before the 201 was sent.
    keys = proxy.keys()
    assert {f"a{saved.id}", "site", f"cat-{saved.category.id}", f"author-{saved.author.id}"} <= keys
    assert f"tag-{saved.tags[0].id}" in keys and "search" in keys
    assert len(proxy.received) == 1  # one purge for the write's whole key set


def test_a_title_fix_purges_the_article_not_the_listings(site, proxy):
    client = site.test_client()
    first = publish(client, "secret-token")
    second = publish(client, "secret-token", title="Markets calm", category="Economy")
    proxy.received.clear()
    response = client.patch(
        f"/api/v1/articles/{first['id']}", json={"title": "Ceasefire holds (updated)"},
        headers={"Authorization": "Bearer secret-token"},
    )  # fmt: skip
    assert response.status_code == 200
    keys = proxy.keys()
    assert f"a{first['id']}" in keys and f"a{second['id']}" not in keys
    assert "site" not in keys and not any(k.startswith("cat-") for k in keys)


def test_a_new_article_purges_the_page_of_its_older_neighbour(site, proxy):
    client = site.test_client()
    first = publish(client, "secret-token")
    proxy.received.clear()
    publish(client, "secret-token", title="Second story")
    # The first article's page links "Next ›" to the new one now.
    assert f"p{first['id']}" in proxy.keys()


def test_a_deleted_article_is_purged(site, proxy):
    client = site.test_client()
    article = publish(client, "secret-token")
    proxy.received.clear()
    assert (
        client.delete(f"/api/v1/articles/{article['id']}", headers={"Authorization": "Bearer secret-token"}).status_code
        == 204
    )
    assert {f"a{article['id']}", "site", "absent"} <= proxy.keys()


def test_a_scheduled_article_is_purged_when_it_falls_due(tmp_path, proxy):
    app = make_app(tmp_path / "site.db", PURGE_URLS=proxy.url, WEBSUB_SCHEDULE_POLL=0.1)
    with app.app_context():
        store = get_store()
        store.save_term("category", "world", "World")
        store.create_token("newsroom", "secret-token", "write")
    due = time.time() + 1.5
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(due + 1))
    article = publish(app.test_client(), "secret-token", published=stamp)
    assert "site" not in proxy.keys()  # not visible yet: nothing public changed
    assert wait_until(lambda: {f"a{article['id']}", "site"} <= proxy.keys(), timeout=15)


def test_an_import_from_the_command_line_purges_everything(tmp_path, proxy):
    app = make_app(tmp_path / "site.db", PURGE_URLS=proxy.url)
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"title": "Imported", "body": "<p>x</p>", "published": "2026-01-02T03:04:05Z"}) + "\n")
    result = app.test_cli_runner().invoke(args=["import", str(source)])
    assert result.exit_code == 0, result.output
    assert "all" in proxy.keys()


def test_the_hook_gets_the_keys(tmp_path):
    PURGES.clear()
    app = make_app(tmp_path / "site.db", PURGE_HOOK="tests.test_purge:hook_target")
    with app.app_context():
        get_store().save_term("category", "world", "World")
        get_store().create_token("newsroom", "secret-token", "write")
    article = publish(app.test_client(), "secret-token")
    assert f"a{article['id']}" in PURGES and "site" in PURGES


# ------------------------------------------------------------------------ the queue


def test_keys_queued_during_a_purge_are_coalesced_into_the_next(proxy):
    gate = threading.Event()
    send = http_sender(proxy.url, "xkey", 2.0)

    def slow(keys: list[str]) -> None:
        gate.wait(5)
        send(keys)

    purger = Purger([Target("slow", slow)])
    purger.enqueue(["a1"])
    time.sleep(0.1)  # a1 is in flight
    for n in range(2, 12):
        purger.enqueue([f"a{n}", "site"])
    gate.set()
    assert purger.flush(5)
    assert proxy.received[0] == ["a1"]
    assert len(proxy.received) == 2 and set(proxy.received[1]) == {f"a{n}" for n in range(2, 12)} | {"site"}


def test_a_proxy_that_is_down_gets_the_purge_when_it_is_back():
    port = free_port()
    purger = Purger([Target("later", http_sender(f"http://127.0.0.1:{port}", "xkey", 1.0))], backoff=0.1, attempts=20)
    started = time.monotonic()
    ticket = purger.enqueue(["a42", "site"])
    assert purger.wait(ticket, 1.0)  # the write does not wait for a proxy that is down
    assert time.monotonic() - started < 1.0
    time.sleep(0.3)
    back = Proxy(port)
    try:
        assert wait_until(lambda: back.keys() == {"a42", "site"})
    finally:
        back.close()


def test_keys_given_up_on_are_logged_and_everything_is_purged_once_the_proxy_is_back(caplog):
    port = free_port()
    target = Target("gone", http_sender(f"http://127.0.0.1:{port}", "xkey", 0.5))
    purger = Purger([target], backoff=0.01, attempts=3, max_backoff=0.3)
    with caplog.at_level(logging.WARNING, logger="syndicate.purge"):
        purger.enqueue(["a7", "cat-2"])
        assert wait_until(lambda: target.dropped)
    assert sorted(target.dropped) == ["a7", "cat-2"]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "a7 cat-2" in errors[0] and "gave up" in errors[0]
    back = Proxy(port)
    try:
        assert wait_until(lambda: back.keys() == {"all"})
    finally:
        back.close()


def test_a_refusal_is_not_retried():
    refusing = Proxy(status=403)
    try:
        target = Target("acl", http_sender(refusing.url, "xkey", 1.0))
        purger = Purger([target], backoff=0.01, attempts=5)
        purger.enqueue(["a1"])
        assert wait_until(lambda: target.dropped == ["a1"])
        assert len(refusing.received) == 1
    finally:
        refusing.close()


def test_a_write_never_fails_for_a_proxy(tmp_path):
    app = make_app(tmp_path / "site.db", PURGE_URLS=f"http://127.0.0.1:{free_port()}")
    with app.app_context():
        get_store().save_term("category", "world", "World")
        get_store().create_token("newsroom", "secret-token", "write")
    started = time.monotonic()
    publish(app.test_client(), "secret-token")
    assert time.monotonic() - started < 3  # refused at once: not waited for


def test_bad_purge_settings_are_refused(tmp_path):
    from syndicate.config import ConfigError

    with pytest.raises(ConfigError, match="PURGE_URLS"):
        make_app(tmp_path / "a.db", PURGE_URLS="varnish:6081")
    with pytest.raises(ConfigError, match="PURGE_METHOD"):
        make_app(tmp_path / "b.db", PURGE_METHOD="delete")
    with pytest.raises(ConfigError, match="SURROGATE_KEY_HEADER"):
        make_app(tmp_path / "c.db", SURROGATE_KEY_HEADER="X-Keys")


def test_purging_off_means_no_purger(app):
    assert purge.purger(app) is None


def test_operators_can_purge_from_the_command_line(tmp_path, proxy):
    runner = make_app(tmp_path / "site.db", PURGE_URLS=proxy.url).test_cli_runner()
    result = runner.invoke(args=["purge", "cat-3", "nav"])
    assert result.exit_code == 0, result.output
    assert proxy.keys() == {"cat-3", "nav"}
    assert runner.invoke(args=["purge", "--all"]).exit_code == 0 and "all" in proxy.keys()
    refused = runner.invoke(args=["purge", "two words"])
    assert refused.exit_code != 0 and "surrogate keys" in refused.output


def test_the_purge_command_says_when_purging_is_off(runner):
    result = runner.invoke(args=["purge", "--all"])
    assert result.exit_code != 0 and "PURGE_URLS" in result.output
