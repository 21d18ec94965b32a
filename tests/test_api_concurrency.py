"""Concurrent writers and readers against a real waitress server: partial updates of different
fields of one article never lose each other, a reader never sees half of a write, and no client
ever gets an error (in particular no 'database is locked')."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest

from .api_support import READ, api_app, auth

ROUNDS = 12


class Client:
    def __init__(self, base: str) -> None:
        self.base = base

    def call(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        for name, value in {**auth(), **(headers or {})}.items():
            request.add_header(name, value)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                text = response.read().decode()
                return response.status, json.loads(text) if text else {}
        except urllib.error.HTTPError as exc:
            return exc.code, {"error": exc.read().decode()}


@pytest.mark.slow
def test_concurrent_patches_creates_and_reads(tmp_path, live_server):
    app = api_app(tmp_path / "concurrent.db")
    server = live_server(app, threads=6)
    api = Client(server.url)
    status, article = api.call(
        "POST", "/api/v1/articles", {"title": "v0", "tags": ["v0"], "summary": "s0", "image_caption": "c0"}
    )
    assert status == 201
    path = f"/api/v1/articles/{article['id']}"
    failures: list[str] = []
    torn: list[str] = []
    created: list[int] = []
    lock = threading.Lock()

    def record(what: str, status: int, body: dict) -> None:
        if not 200 <= status < 300:
            with lock:
                failures.append(f"{what}: {status} {body}")

    def patch_field(field: str, prefix: str) -> None:
        for n in range(1, ROUNDS + 1):
            status, body = api.call("PATCH", path, {field: f"{prefix}{n}"})
            record(f"PATCH {field}", status, body)

    def patch_title_and_tags() -> None:
        # Title and tags change together: a reader seeing different numbers saw a torn write
        # (the article row and its tags are read by two queries).
        for n in range(1, ROUNDS + 1):
            status, body = api.call("PATCH", path, {"title": f"v{n}", "tags": [f"v{n}"]})
            record("PATCH title+tags", status, body)

    def create(worker: int) -> None:
        for n in range(ROUNDS // 2):
            key = f"w{worker}-{n}"
            status, body = api.call(
                "POST", "/api/v1/articles", {"title": f"New {key}", "tags": [key]}, {"Idempotency-Key": key}
            )
            record("POST", status, body)
            if status == 201:
                with lock:
                    created.append(body["id"])
            # A retry of the same request must not make a duplicate.
            status, again = api.call(
                "POST", "/api/v1/articles", {"title": f"New {key}", "tags": [key]}, {"Idempotency-Key": key}
            )
            record("POST retry", status, again)
            if status < 300 and again["id"] != body.get("id"):
                with lock:
                    failures.append(f"retry of {key} made a duplicate")

    def read() -> None:
        for _ in range(ROUNDS * 2):
            status, body = api.call("GET", path, headers=auth(READ))
            record("GET", status, body)
            if status == 200 and [t["name"] for t in body["tags"]] != [body["title"]]:
                with lock:
                    torn.append(f"title {body['title']!r} with tags {body['tags']}")
            status, listing = api.call("GET", "/api/v1/articles?limit=50&order=-updated", headers=auth(READ))
            record("GET list", status, listing)
            for item in listing.get("articles", []):
                if item["id"] == article["id"] and [t["name"] for t in item["tags"]] != [item["title"]]:
                    with lock:
                        torn.append(f"list: title {item['title']!r} with tags {item['tags']}")

    threads = [
        threading.Thread(target=patch_field, args=("summary", "s")),
        threading.Thread(target=patch_field, args=("image_caption", "c")),
        threading.Thread(target=patch_field, args=("slug", "slug-")),
        threading.Thread(target=patch_title_and_tags),
        threading.Thread(target=create, args=(1,)),
        threading.Thread(target=create, args=(2,)),
        threading.Thread(target=read),
        threading.Thread(target=read),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)

    assert failures == []
    assert torn == []
    status, final = api.call("GET", path)
    # Every field's last write survived every other thread's writes.
    assert (final["summary"], final["image_caption"], final["slug"]) == (
        f"s{ROUNDS}", f"c{ROUNDS}", f"slug-{ROUNDS}"
    )  # fmt: skip
    assert final["title"] == f"v{ROUNDS}" and [t["name"] for t in final["tags"]] == [f"v{ROUNDS}"]
    status, listing = api.call("GET", "/api/v1/articles?limit=100")
    assert len(listing["articles"]) == 1 + 2 * (ROUNDS // 2) == 1 + len(created)
