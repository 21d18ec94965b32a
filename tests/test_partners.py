"""Partners: credentials from the CLI (only hashes stored), feeds by Bearer header or secret URL
with full text whatever the public gets, refusals that reveal nothing, scopes and categories,
private caching with per-partner validators, rate limits, and usage per partner and day."""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from lxml import etree

from syndicate.cache import response_cache
from syndicate.db import get_store
from syndicate.partner_usage import RateLimits, usage
from syndicate.validation import article_record

from .api_support import READ, api_app, auth
from .conftest import SITE_URL, make_app

ATOM = "{http://www.w3.org/2005/Atom}"
BODY = "<p>The full body of the story, for partners.</p>"


def secret_from(output: str) -> str:
    return re.search(r"^(synp_\S+)$", output, re.M).group(1)


@pytest.fixture
def site(tmp_path):
    """Articles in two categories; the public gets summaries on every scope and nothing of tags."""
    app = api_app(tmp_path / "p.db", PUBLIC_FEED_CONTENT="summary,tag=none", FEED_ITEMS=2, CACHE_TYPE="SimpleCache")
    with app.app_context():
        store = get_store()
        now = store.clock()
        for i, category in enumerate(["world", "economy", "world", "economy", "world"]):
            record = {"title": f"Story {i}", "summary": "A summary.", "body": BODY, "category": category,
                      "tags": ["Talks"],
                      "published": (now - timedelta(hours=i + 1)).isoformat()}  # fmt: skip
            store.save_article(article_record(record, now=now))
    return app


def add_partner(app, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["partner", "add", *args])
    assert result.exit_code == 0, result.output
    return secret_from(result.output)


def test_cli_issues_lists_rotates_and_revokes_storing_only_a_hash(site):
    runner = site.test_cli_runner()
    result = runner.invoke(args=["partner", "add", "agency", "--scopes", "site,category", "--rate", "30"])
    secret = secret_from(result.output)
    assert f"{SITE_URL}/partner/{secret}/feed/atom/" in result.output and "Authorization: Bearer" in result.output
    with sqlite3.connect(site.config["DATABASE"]) as conn:
        dump = "\n".join(conn.iterdump())
    assert secret not in dump
    assert runner.invoke(args=["partner", "add", "agency"]).exit_code != 0  # the name is taken
    bad = runner.invoke(args=["partner", "add", "other", "--scopes", "site,everything"])
    assert bad.exit_code == 2 and "unknown scope 'everything'" in bad.output and "Traceback" not in bad.output
    bad = runner.invoke(args=["partner", "add", "other", "--categories", "sport"])
    assert bad.exit_code == 2 and "unknown category 'sport'" in bad.output
    listing = runner.invoke(args=["partner", "list"]).output
    assert "agency\tsite,category\tall categories\t30/min" in listing and secret not in listing
    rotated = runner.invoke(args=["partner", "rotate", "agency"])
    new = secret_from(rotated.output)
    client = site.test_client()
    assert client.get("/feed/atom/", headers=auth(secret)).status_code == 401
    assert client.get("/feed/atom/", headers=auth(new)).status_code == 200
    assert runner.invoke(args=["partner", "revoke", "agency"]).exit_code == 0
    assert client.get("/feed/atom/", headers=auth(new)).status_code == 401
    assert runner.invoke(args=["partner", "revoke", "agency"]).exit_code == 1
    assert "revoked" in runner.invoke(args=["partner", "list"]).output


def test_partners_get_full_text_where_the_public_gets_summaries_or_nothing(site):
    secret = add_partner(site, "agency")
    client = site.test_client()
    public = client.get("/feed/atom/?content=full")
    assert public.status_code == 200 and b"full body of the story" not in public.data
    assert {c.text for c in etree.fromstring(public.data).iter(f"{ATOM}content")} == {"A summary."}
    for response in (client.get("/feed/atom/", headers=auth(secret)), client.get(f"/partner/{secret}/feed/atom/")):
        assert response.status_code == 200
        contents = etree.fromstring(response.data).findall(f"{ATOM}entry/{ATOM}content")
        assert len(contents) == 2 and all("full body of the story" in c.text for c in contents)
    refused = client.get("/tag/talks/feed/")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/tag/talks/feed/json/", headers=auth(secret)).status_code == 200


def test_secret_urls_cover_every_format_page_and_archive_and_links_keep_the_prefix(site):
    secret = add_partner(site, "agency")
    client = site.test_client()
    prefix = f"{SITE_URL}/partner/{secret}"
    atom = etree.fromstring(client.get(f"/partner/{secret}/feed/atom/").data)
    links = {link.get("rel"): link.get("href") for link in atom.findall(f"{ATOM}link")}
    assert links["self"] == prefix + "/feed/atom/" and links["next"] == prefix + "/feed/atom/?page=2"
    assert links["prev-archive"] == prefix + "/feed/atom/archive/2/"
    assert links["alternate"] == SITE_URL + "/"  # the public page, not the secret
    for path in ["/feed/", "/feed/json/", "/feed/atom/?page=3", "/category/world/feed/atom/archive/1/",
                 "/feed/atom/archive/1/", "/search/feed/?q=story", "/author/x/feed/"]:  # fmt: skip
        response = client.get(f"/partner/{secret}{path}")
        assert response.status_code == (404 if "/author/x/" in path else 200), path
    archive = client.get(f"/partner/{secret}/feed/atom/archive/1/")
    assert archive.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    current = etree.fromstring(archive.data).find(f"{ATOM}link[@rel='current']").get("href")
    assert current == prefix + "/feed/atom/"
    # Only feeds live under a secret URL.
    assert client.get(f"/partner/{secret}/").status_code == 404
    assert client.get(f"/partner/{secret}/category/world/").status_code == 404


def test_bad_credentials_are_refused_alike_whether_or_not_a_partner_had_them(site):
    secret = add_partner(site, "agency")
    old = secret
    runner = site.test_cli_runner()
    secret = secret_from(runner.invoke(args=["partner", "rotate", "agency"]).output)
    revoked = add_partner(site, "gone")
    runner.invoke(args=["partner", "revoke", "gone"])
    client = site.test_client()
    answers = set()
    for wrong in ["synp_never-issued", old, revoked, "", "x" * 5000]:
        for response in (client.get("/feed/atom/", headers=auth(wrong)), client.get(f"/partner/{wrong}/feed/atom/")):
            if wrong == "" and response.request.path.startswith("/partner/"):
                continue  # '/partner//feed/atom/' is no secret URL
            answers.add((response.status_code, response.data, tuple(sorted(response.headers.items()))))
    assert len(answers) == 1
    status, body, headers = answers.pop()
    assert status == 401 and b"unknown or revoked" in body and dict(headers)["Cache-Control"] == "no-store"
    assert client.get("/feed/atom/", headers=auth(secret)).status_code == 200


def test_scopes_and_categories_limit_what_a_partner_may_fetch(site):
    world = add_partner(site, "world-desk", "--categories", "world")
    sites = add_partner(site, "site-only", "--scopes", "site")
    client = site.test_client()
    assert client.get("/category/world/feed/atom/", headers=auth(world)).status_code == 200
    assert client.get("/category/world/feed/atom/archive/1/", headers=auth(world)).status_code == 200
    for path in ["/feed/atom/", "/category/economy/feed/atom/", "/tag/talks/feed/", "/search/feed/?q=story"]:
        refused = client.get(path, headers=auth(world))
        assert refused.status_code == 403 and b"world-desk" in refused.data, path
    assert client.get("/feed/json/", headers=auth(sites)).status_code == 200
    assert client.get("/category/world/feed/", headers=auth(sites)).status_code == 403


def test_partner_answers_are_private_never_shared_and_have_their_own_validators(site):
    a, b = add_partner(site, "a"), add_partner(site, "b")
    client = site.test_client()
    public = client.get("/feed/atom/")
    assert public.headers["Cache-Control"].startswith("public") and public.headers["X-Cache"] == "miss"
    stored = response_cache(site).entries()
    one = client.get("/feed/atom/", headers=auth(a))
    two = client.get("/feed/atom/", headers=auth(b))
    assert one.headers["Cache-Control"] == two.headers["Cache-Control"] == "private, no-cache"
    assert "X-Cache" not in one.headers
    assert len({public.headers["ETag"], one.headers["ETag"], two.headers["ETag"]}) == 3
    # 304 per partner: its own ETag revalidates; another partner's or the public's does not.
    assert client.get("/feed/atom/", headers=auth(a, **{"If-None-Match": one.headers["ETag"]})).status_code == 304
    assert client.get("/feed/atom/", headers=auth(b, **{"If-None-Match": one.headers["ETag"]})).status_code == 200
    assert client.get("/feed/atom/", headers=auth(a, **{"If-None-Match": public.headers["ETag"]})).status_code == 200
    secret_url = client.get(f"/partner/{a}/feed/atom/")
    assert secret_url.headers["Cache-Control"] == "private, no-cache"
    assert (
        client.get(f"/partner/{a}/feed/atom/", headers={"If-None-Match": secret_url.headers["ETag"]}).status_code == 304
    )
    for path in ("/feed/", "/category/world/feed/json/", "/feed/atom/?page=2"):  # nothing stored for partners
        assert client.get(f"/partner/{a}{path}").status_code == client.get(path, headers=auth(b)).status_code == 200
    assert response_cache(site).entries() == stored
    # After all of that, the public still gets its own (cached) summary document.
    again = client.get("/feed/atom/")
    assert again.headers["X-Cache"] == "hit" and again.data == public.data and b"full body" not in again.data


def test_a_revoked_partner_is_refused_on_its_next_request_by_a_running_server(site, live_server):
    secret = add_partner(site, "agency")
    server = live_server(site)
    url = f"{server.url}/feed/atom/"
    request = urllib.request.Request(url, headers=auth(secret))
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    # Revoked from another app on the same database (as the CLI in another process would).
    other = make_app(site.config["DATABASE"])
    assert other.test_cli_runner().invoke(args=["partner", "revoke", "agency"]).exit_code == 0
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(url, headers=auth(secret)), timeout=10)
    assert refused.value.code == 401
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{server.url}/partner/{secret}/feed/atom/", timeout=10)
    assert refused.value.code == 401


def test_rate_limit_per_partner_answers_429_with_retry_after(site):
    slow = add_partner(site, "slow", "--rate", "2")
    fast = add_partner(site, "fast")
    client = site.test_client()
    assert [client.get("/feed/", headers=auth(slow)).status_code for _ in range(2)] == [200, 200]
    limited = client.get("/feed/", headers=auth(slow))
    assert limited.status_code == 429 and 1 <= int(limited.headers["Retry-After"]) <= 30
    assert client.get("/feed/", headers=auth(fast)).status_code == 200  # buckets are per partner


def test_token_bucket_refills_at_the_partners_rate():
    now = [0.0]
    limits = RateLimits(600, clock=lambda: now[0])
    assert [limits.take("p", 60) for _ in range(60)] == [0.0] * 60  # a minute's worth at once
    assert limits.take("p", 60) == pytest.approx(1.0)
    now[0] += 0.5
    assert limits.take("p", 60) == pytest.approx(0.5)
    now[0] += 0.5
    assert limits.take("p", 60) == 0.0
    assert limits.take("other") == 0.0  # the default rate, its own bucket


def test_usage_is_counted_per_partner_and_day_and_shown_by_cli_and_api(site):
    secret = add_partner(site, "agency")
    client = site.test_client()
    first = client.get("/feed/atom/", headers=auth(secret))
    assert (
        client.get("/feed/atom/", headers=auth(secret, **{"If-None-Match": first.headers["ETag"]})).status_code == 304
    )
    client.get(f"/partner/{secret}/feed/json/?page=3")  # the last page: one article
    client.get("/category/world/feed/", headers=auth(secret))
    client.get("/feed/atom/", headers=auth("synp_wrong"))  # nobody's: not counted
    tally = usage(site)
    with site.app_context():
        assert get_store().partner_usage("2000-01-01") == []  # nothing written per request
    assert tally.flush() == 1
    with site.app_context():
        [row] = get_store().partner_usage("2000-01-01")
    assert (row["partner"], row["requests"], row["documents"], row["articles"]) == ("agency", 4, 3, 5)
    stats = site.test_cli_runner().invoke(args=["partner", "stats"]).output
    assert f"{row['day']}\tagency\t4\t3\t5" in stats
    client.get("/feed/", headers=auth(secret))
    api = client.get("/api/v1/partners/usage?days=1", headers=auth(READ))
    assert api.status_code == 200 and api.headers["Cache-Control"] == "no-store"
    assert api.json["usage"] == [{**row, "requests": 5, "documents": 4, "articles": 7}]
    assert client.get("/api/v1/partners/usage").status_code == 401
    bad = client.get("/api/v1/partners/usage?days=0", headers=auth(READ))
    assert bad.status_code == 400 and "days" in bad.json["fields"]
    doc = client.get("/api/v1/openapi.json").json
    assert doc["paths"]["/api/v1/partners/usage"]["get"]["operationId"] == "partnerUsage"


def test_usage_still_in_memory_is_written_at_shutdown(site):
    secret = add_partner(site, "agency")
    site.test_client().get("/feed/", headers=auth(secret))
    tally = usage(site)
    assert tally.thread is not None and tally.thread.is_alive()
    tally.close()
    assert not tally.thread.is_alive()
    with site.app_context():
        assert [r["requests"] for r in get_store().partner_usage("2000-01-01")] == [1]


@pytest.mark.parametrize(
    ("setting", "message"),
    [("partial", "the level must be full, summary or none"), ("site=summary,blog=none", "unknown scope 'blog'")],
)
def test_a_bad_public_content_setting_stops_start_up(tmp_path, setting, message):
    from syndicate.config import ConfigError

    with pytest.raises(ConfigError, match=message):
        make_app(tmp_path / "c.db", PUBLIC_FEED_CONTENT=setting)


def test_public_full_keeps_the_readers_choice_and_json_feeds_follow_the_level(tmp_path):
    app = make_app(tmp_path / "f.db", PUBLIC_FEED_CONTENT="category=summary")
    with app.app_context():
        store = get_store()
        record = {"title": "T", "summary": "A summary.", "body": BODY, "category": "World"}
        store.save_article(article_record(record, now=store.clock()))
    client = app.test_client()
    site_items = json.loads(client.get("/feed/json/").data)["items"]
    assert "content_html" in site_items[0]
    assert "content_html" not in json.loads(client.get("/feed/json/?content=summary").data)["items"][0]
    category_items = json.loads(client.get("/category/world/feed/json/?content=full").data)["items"]
    assert "content_html" not in category_items[0] and "content_text" in category_items[0]


def test_a_secret_url_never_reaches_the_subscriber_counts(site):
    from syndicate.subscribers import feed_counter

    secret = add_partner(site, "agency")
    assert site.test_client().get(f"/partner/{secret}/feed/atom/").status_code == 200
    counter = feed_counter(site)
    assert counter is not None and counter.flush() >= 1
    with sqlite3.connect(site.config["DATABASE"]) as conn:
        paths = [row[0] for row in conn.execute("SELECT path FROM feed_days")]
        dump = "\n".join(conn.iterdump())
    assert "/feed/atom/" in paths and secret not in dump
