"""Cache keys: junk parameters share an entry, key parameters do not, floods cannot evict
pages, and a new release never reads the previous release's entries."""

from __future__ import annotations

import time

from syndicate.cache import canonical_query, response_cache


def test_junk_query_parameters_share_one_entry(cached_app, client):
    baseline = client.get("/_t/listing/?page=2").data
    for n in range(40):
        response = client.get(f"/_t/listing/?page=2&utm_source=x{n}&fbclid={n}&_={time.time()}")
        assert response.headers["X-Cache"] == "hit"
        assert response.data == baseline
    assert cached_app.renders["listing"] == 1
    # The view never saw the junk: what is stored is the render of the canonical request.
    assert b"<p id=args>[&#39;page&#39;]</p>" in baseline


def test_a_cache_busting_flood_cannot_grow_the_cache_or_evict_the_front_page(cached_app, client):
    client.get("/_t/listing/")
    for n in range(200):
        client.get(f"/_t/counted/?nocache={n}")
    assert client.get("/_t/listing/").headers["X-Cache"] == "hit"
    for n in range(1, 31):  # distinct pages are distinct entries; the cache stays bounded
        assert client.get(f"/_t/listing/?page={n}").status_code == 200
    backend = cached_app.extensions["syndicate.cache"].cache
    assert len(backend._cache) <= 11  # cachelib prunes to the threshold before it inserts
    assert response_cache(cached_app).entries() <= 10


def test_a_flood_of_distinct_searches_cannot_evict_pages(cached_app, client):
    client.get("/_t/listing/")
    client.get("/_t/listing/?page=2")
    for n in range(50):
        assert client.get(f"/_t/listing/?q=word{n}").headers["X-Cache"] == "miss"
    assert client.get("/_t/listing/").headers["X-Cache"] == "hit"
    assert client.get("/_t/listing/?page=2").headers["X-Cache"] == "hit"
    assert client.get("/_t/listing/?q=word49").headers["X-Cache"] == "hit"
    assert response_cache(cached_app).entries() <= 10


def test_key_parameters_make_separate_entries_whatever_their_order(cached_app, client):
    a = client.get("/_t/listing/?page=2&q=rates&content=summary")
    b = client.get("/_t/listing/?content=summary&q=rates&page=2")
    assert (a.headers["X-Cache"], b.headers["X-Cache"]) == ("miss", "hit")
    assert b"<p id=q>rates</p>" in a.data and b"<p id=content>summary</p>" in a.data
    page3 = client.get("/_t/listing/?page=3&q=rates&content=summary")
    full = client.get("/_t/listing/?page=2&q=rates&content=full")
    other_q = client.get("/_t/listing/?page=2&q=prices&content=summary")
    for response in (page3, full, other_q):
        assert response.headers["X-Cache"] == "miss"
        assert response.data != a.data
    # Blank values are dropped, leading zeros and extra spaces normalised: same entries.
    assert client.get("/_t/listing/?page=02&q=+rates+&content=summary&junk=1").headers["X-Cache"] == "hit"
    assert client.get("/_t/listing/?q=&page=3&content=summary&q=rates").headers["X-Cache"] == "hit"
    assert cached_app.renders["listing"] == 4


def test_canonical_query_keeps_only_what_changes_the_output():
    assert canonical_query("utm=1&q=a++b&page=007&page=9&content=") == "page=7&q=a+b"
    assert canonical_query("fbclid=x") == ""


def test_a_new_release_never_reads_the_previous_releases_entries(tmp_path):
    """Entries are keyed by a hash of the code and templates, so a deploy that changes either
    starts from an empty shared cache instead of serving pages rendered by the old code."""
    from flask import Flask

    from syndicate.cache import code_fingerprint

    site = Flask("fingerprint", root_path=str(tmp_path), template_folder="templates")
    (tmp_path / "templates").mkdir()
    page = tmp_path / "templates" / "page.html"
    page.write_text("<h1>{{ title }}</h1>")
    before = code_fingerprint(site)
    assert code_fingerprint(site) == before  # stable: by content, not time
    page.write_text("<h1 class=headline>{{ title }}</h1>")
    assert code_fingerprint(site) != before
