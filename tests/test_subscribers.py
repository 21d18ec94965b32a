"""Feed subscriber counts: the User-Agent parser (real samples), the tally and its flushes
(several processes adding up, days, retention, no raw addresses stored), and the counts seen
through a real server, its cache's fast path, the API and the CLI."""

from __future__ import annotations

import sqlite3
import urllib.request
from contextlib import closing
from datetime import UTC, datetime

import pytest

from syndicate.cache import response_cache
from syndicate.store import Store
from syndicate.subscribers import MAX_POLLERS, FeedCounter, feed_counter, parse_agent

from .api_support import READ, api_app, auth

# (User-Agent as sent by the service, what it announces)
AGENTS = [
    ("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 1234 subscribers; feed-id=abc123)", ("Feedly", 1234)),
    ("Feedly/1.0 (+https://feedly.com/poller.html; 16 subscribers; )", ("Feedly", 16)),
    (
        "Mozilla/5.0 (compatible; Inoreader/1.0; +http://www.inoreader.com/feed-fetcher; 12 subscribers; )",
        ("Inoreader", 12),
    ),
    ("Mozilla/5.0 (compatible; inoreader.com; 1 subscriber)", ("Inoreader", 1)),
    (
        "NewsBlur Feed Fetcher - 7 subscribers - https://www.newsblur.com/site/6159489/example-news "
        "(Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/91.0 Safari/537.36)",
        ("NewsBlur", 7),
    ),
    ("Mozilla/5.0 (compatible; theoldreader.com; 3 subscribers; feed-id=5e2a9c1b0f)", ("The Old Reader", 3)),
    ("Feedbin feed-id:1373711 - 42 subscribers", ("Feedbin", 42)),
    ("Mozilla/5.0 (compatible; BazQux/2.4; +https://bazqux.com/fetcher; 5 subscribers)", ("BazQux", 5)),
    ("Netvibes (crawler/bot; http://www.netvibes.com; 10 subscribers; feedID: 123)", ("Netvibes", 10)),
    ("SomeReader/2.1 (+https://reader.example/bot; 1,024 subscribers)", ("SomeReader", 1024)),
    ("Mozilla/5.0 (compatible; +https://reader.example; 9 readers)", ("other", 9)),
    # No figure: a reader polling for one person (or a service that does not say).
    ("Feedspot/1.0 (+https://www.feedspot.com/fs/fetcher; like FeedFetcher-Google)", None),
    ("Tiny Tiny RSS/23.01 (Unsupported) (https://tt-rss.org/)", None),
    ("Mozilla/5.0 (compatible; Miniflux/2.0.50; +https://miniflux.app)", None),
    ("FreshRSS/1.23.1 (Linux; https://freshrss.org)", None),
    ("NetNewsWire (RSS Reader; https://netnewswire.com/)", None),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", None),
    ("", None),
    # Not believed: more subscribers than anyone has, or digits glued to other text.
    ("Feedly/1.0 (+http://www.feedly.com/fetcher.html; 999999999999 subscribers)", None),
    ("Bot/1.0 (v1.5 subscribers)", None),
]


@pytest.mark.parametrize("agent, announced", AGENTS)
def test_the_user_agent_parser_reads_announced_subscribers(agent, announced):
    assert parse_agent(agent) == announced


def environ(agent: str = "", address: str = "203.0.113.7") -> dict[str, str]:
    return {"HTTP_USER_AGENT": agent, "REMOTE_ADDR": address}


class Clock:
    def __init__(self, iso: str) -> None:
        self.now = datetime.fromisoformat(iso).timestamp()

    def __call__(self) -> float:
        return self.now


def rows(db, sql):
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "stats.db")
    store = Store(path)
    store.ensure_schema()
    store.close()
    return path


def test_two_processes_add_up_and_merge_their_pollers(db):
    clock = Clock("2026-12-04T10:00:00+00:00")
    first, second = (FeedCounter(db, interval=3600, clock=clock) for _ in range(2))
    feedly = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 1234 subscribers; feed-id=x)"
    first.record("/feed/", environ(feedly, "198.51.100.1"), False)
    first.record("/feed/", environ("NetNewsWire (RSS Reader)"), True)
    first.record("/feed/", environ("NetNewsWire (RSS Reader)"), True)
    first.record("/feed/atom/", environ("curl/8.5.0", "2001:db8::1"), False)
    clock.now += 60
    feedly_later = feedly.replace("1234", "1240")
    second.record("/feed/", environ(feedly_later, "198.51.100.2"), False)
    second.record("/feed/", environ("NetNewsWire (RSS Reader)"), True)  # the same reader, via another process
    second.record("/feed/", environ("NetNewsWire (RSS Reader)", "192.0.2.9"), False)
    assert first.flush() == 4 and second.flush() == 3
    assert first.flush() == 0  # nothing new
    assert rows(db, "SELECT day, path, requests, not_modified FROM feed_days ORDER BY path") == [
        ("2026-12-04", "/feed/", 6, 3),
        ("2026-12-04", "/feed/atom/", 1, 0),
    ]
    assert rows(db, "SELECT aggregator, subscribers FROM feed_aggregators") == [("Feedly", 1240)]
    assert rows(db, "SELECT path, count(*) FROM feed_pollers GROUP BY path ORDER BY path") == [
        ("/feed/", 2),
        ("/feed/atom/", 1),
    ]
    # An older figure flushed late does not replace a newer one.
    clock.now -= 30
    first.record("/feed/", environ(feedly.replace("1234", "1100"), "198.51.100.1"), False)
    first.flush()
    assert rows(db, "SELECT subscribers FROM feed_aggregators") == [(1240,)]


def test_no_raw_address_or_user_agent_is_stored(db):
    counter = FeedCounter(db, interval=3600)
    counter.record("/feed/", environ("PrivateReader/1.0 (alice-laptop)", "203.0.113.77"), False)
    counter.flush()
    with open(db, "rb") as f:
        data = f.read()
    for wal in (db + "-wal",):
        try:
            data += open(wal, "rb").read()
        except FileNotFoundError:
            pass
    assert b"203.0.113.77" not in data and b"alice-laptop" not in data
    assert len(rows(db, "SELECT poller FROM feed_pollers")[0][0]) == 16


def test_days_are_counted_apart_and_old_hashes_become_counts(db):
    clock = Clock("2026-12-01T23:59:00+00:00")
    counter = FeedCounter(db, interval=3600, clock=clock)
    counter.record("/feed/", environ("A"), False)
    counter.record("/feed/", environ("B"), False)
    clock.now += 120  # past midnight: a new day, a new salt
    counter.record("/feed/", environ("A"), False)
    counter.flush()
    assert rows(db, "SELECT day, requests FROM feed_days ORDER BY day") == [("2026-12-01", 2), ("2026-12-02", 1)]
    assert len(rows(db, "SELECT day FROM feed_salts")) == 2
    hashes = {day: p for day, p in rows(db, "SELECT day, poller FROM feed_pollers WHERE path = '/feed/'")}
    assert len(hashes) == 2  # one day's hash of A is not the other day's
    clock.now += 2 * 86400  # two days later the first days keep only their counts
    counter.record("/feed/", environ("C"), False)
    counter.flush()
    assert rows(db, "SELECT DISTINCT day FROM feed_pollers") == [("2026-12-04",)]
    assert rows(db, "SELECT day FROM feed_salts") == [("2026-12-04",)]
    assert rows(db, "SELECT day, pollers FROM feed_days ORDER BY day") == [
        ("2026-12-01", 2),
        ("2026-12-02", 1),
        ("2026-12-04", None),
    ]


def test_the_tally_is_bounded(db):
    counter = FeedCounter(db, interval=3600)
    for n in range(MAX_POLLERS + 10):
        counter.record("/feed/", environ(f"Reader {n}"), False)
    assert len(counter._tally.pollers) == MAX_POLLERS
    counter.flush()
    assert rows(db, "SELECT requests FROM feed_days") == [(MAX_POLLERS + 10,)]


def test_counts_through_a_real_server_and_its_fast_path(tmp_path, live_server):
    app = api_app(tmp_path / "live.db", CACHE_TYPE="SimpleCache")
    client = app.test_client()
    client.post("/api/v1/articles", json={"title": "Hello", "category": "world"}, headers=auth())
    server = live_server(app)
    feedly = "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 1234 subscribers; feed-id=x)"
    etag = None
    for _ in range(5):  # the first renders, the rest are answered by the fast path
        headers = {"User-Agent": "NetNewsWire (RSS Reader; https://netnewswire.com/)"}
        if etag:
            headers["If-None-Match"] = etag
        try:
            with urllib.request.urlopen(urllib.request.Request(server.url + "/feed/", headers=headers)) as r:
                etag = r.headers["ETag"]
        except urllib.error.HTTPError as exc:
            assert exc.code == 304
    with urllib.request.urlopen(urllib.request.Request(server.url + "/feed/", headers={"User-Agent": feedly})):
        pass
    urllib.request.urlopen(server.url + "/").read()  # a page: not counted
    assert response_cache(app).renders == 2  # the feed once, the page once: the rest came from memory
    counter = feed_counter(app)
    with app.app_context():
        generation = Store(app.config["DATABASE"]).generation()
    assert counter.flush() == 6
    with app.app_context():
        assert Store(app.config["DATABASE"]).generation() == generation  # counting invalidates nothing
    stats = client.get("/api/v1/stats/feeds", headers=auth(READ)).json
    assert stats["until"] == datetime.now(UTC).date().isoformat()
    [feed] = stats["feeds"]
    assert feed["path"] == "/feed/" and feed["url"] == "https://news.example.com/feed/"
    assert feed["subscribers"] == 1235 and feed["requests"] == 6 and feed["not_modified"] == 4
    assert feed["days"][0]["aggregators"] == {"Feedly": 1234} and feed["days"][0]["pollers"] == 1
    result = app.test_cli_runner().invoke(args=["stats", "--feeds"])
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if line.startswith("/feed/"))
    assert line.split()[1:6] == ["1235", "1235.0", "1235.0", "6", "4"] and "Feedly 1234, direct 1" in line


def test_feed_stats_query_is_checked(tmp_path):
    client = api_app(tmp_path / "q.db").test_client()
    assert client.get("/api/v1/stats/feeds").status_code == 401
    bad = client.get("/api/v1/stats/feeds?days=0&limit=x", headers=auth(READ))
    assert bad.status_code == 422 and set(bad.json["fields"]) == {"days", "limit"}
    assert client.get("/api/v1/stats/feeds?days=7", headers=auth(READ)).json["feeds"] == []


@pytest.mark.parametrize("cache_type", ["NullCache", "SimpleCache"])
def test_each_feed_request_is_counted_once_whoever_answers_it(tmp_path, cache_type):
    """With the cache off Flask counts; with it on the fast path counts, and Flask only counts
    what the fast path passes on untouched (here a request with a cookie)."""
    app = api_app(tmp_path / "once.db", CACHE_TYPE=cache_type)
    client = app.test_client()
    client.post("/api/v1/articles", json={"title": "Hello", "category": "world"}, headers=auth())
    reader = {"User-Agent": "Reeder/5.0"}
    assert client.get("/feed/atom/", headers=reader).status_code == 200
    assert client.get("/category/world/feed/json/", headers=reader).status_code == 200
    client.set_cookie("session", "x")
    assert client.get("/feed/atom/", headers=reader).status_code == 200
    assert client.get("/category/nowhere/feed/", headers=reader).status_code == 404  # not counted
    assert feed_counter(app).flush() == 3
    assert rows(app.config["DATABASE"], "SELECT path, requests FROM feed_days ORDER BY path") == [
        ("/category/world/feed/json/", 1),
        ("/feed/atom/", 2),
    ]


def test_counting_can_be_turned_off(tmp_path):
    app = api_app(tmp_path / "off.db", FEED_STATS_FLUSH=0)
    assert feed_counter(app) is None
    assert app.test_client().get("/feed/").status_code == 200


def test_the_report_shows_the_latest_day_and_the_7_and_30_day_means(db):
    from datetime import date

    from syndicate.subscribers import feed_report

    clock = Clock("2026-11-01T12:00:00+00:00")
    counter = FeedCounter(db, interval=3600, clock=clock)
    for day in range(34):  # 2026-11-01 .. 2026-12-04: Feedly grows by 10 a day
        counter.record("/feed/", environ(f"Feedly/1.0 ({100 + 10 * day} subscribers)"), False)
        counter.record("/feed/", environ("Reader"), True)
        if day % 2 == 0:
            counter.record("/tag/rare/feed/", environ("Reader"), False)
        counter.flush()
        clock.now += 86400
    store = Store(db)
    report = feed_report(store, "https://news.example.com", days=7, limit=10, today=date(2026, 12, 4))
    assert (report["since"], report["until"]) == ("2026-11-28", "2026-12-04")
    assert [f["path"] for f in report["feeds"]] == ["/feed/", "/tag/rare/feed/"]
    feed = report["feeds"][0]
    assert feed["subscribers"] == 100 + 10 * 33 + 1
    assert feed["average_7"] == 100 + 10 * 30 + 1  # days 27..33
    assert feed["average_30"] == 100 + 10 * 18.5 + 1  # days 4..33
    assert (feed["requests"], feed["not_modified"], len(feed["days"])) == (14, 7, 7)
    assert feed["days"][0] == {
        "day": "2026-12-04", "subscribers": 431, "aggregators": {"Feedly": 430}, "pollers": 1,
        "requests": 2, "not_modified": 1,
    }  # fmt: skip
    assert feed["days"][-1]["day"] == "2026-11-28"  # older days are rolled up, still counted
    one = feed_report(store, "https://news.example.com", days=1, limit=1, today=date(2026, 12, 4))
    assert [f["path"] for f in one["feeds"]] == ["/feed/"]
    store.close()
