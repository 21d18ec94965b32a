"""Zero-stale, as a property: random writes (create, update, re-categorise, re-tag, unpublish,
schedule, delete, term renames, merges and deletions) interleave with random reads, and every answer of the cached
app is byte for byte what a cache-off twin renders afresh at that moment (the twin keeps no
pieces either: ``FRAGMENT_CACHE_SIZE=0``). Revalidations with the last ETag seen must be 304
exactly when the body is unchanged."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from syndicate.db import get_store
from syndicate.validation import article_record
from tests.conftest import make_app

CATEGORIES = ("World", "Economy", "Science")
TAGS = ("Diplomacy", "Markets", "Space", "Health")
URLS = (
    "/", "/page/2/", "/category/world/", "/category/economy/", "/category/science/", "/tag/markets/",
    "/tag/space/", "/author/amira-haddad/", "/author/li-wei/", "/feed/", "/feed/atom/", "/feed/json/",
    "/category/world/feed/", "/category/economy/feed/atom/", "/tag/diplomacy/feed/json/",
    "/author/li-wei/feed/", "/feed/archive/1/", "/feed/?page=2", "/search?q=headline",
    "/search/feed/?q=headline", "/sitemap.xml", "/feeds.opml", "/category/world/page/2/", "/tag/markets/feed/atom/",
    "/feed/archive/2/", "/tag/markets/feed/archive/1/", "/category/world/feed/json/archive/1/",
)  # fmt: skip
GUIDS = [f"urn:prop:{i}" for i in range(6)]

write = st.one_of(
    st.tuples(st.just("save"), st.sampled_from(GUIDS), st.sampled_from(CATEGORIES),
              st.lists(st.sampled_from(TAGS), max_size=2, unique=True), st.sampled_from(("Amira Haddad", "Li Wei")),
              st.integers(0, 3), st.sampled_from(("published", "draft", "scheduled"))),
    st.tuples(st.just("delete"), st.sampled_from(GUIDS)),
    st.tuples(st.just("rename"), st.sampled_from(("category", "tag", "author")), st.integers(0, 9)),
    # A tag merged into another, a category's articles moved and the category deleted.
    st.tuples(st.just("merge"), st.sampled_from(("tag", "category")), st.integers(0, 9)),
)  # fmt: skip
read = st.one_of(
    st.tuples(st.just("read"), st.sampled_from(URLS)),
    # An article's page (it shows its neighbours and related articles) and its date archives.
    st.tuples(st.just("read"), st.sampled_from(GUIDS), st.sampled_from(("page", "day", "month"))),
)
steps = st.lists(st.one_of(write, read, read), min_size=4, max_size=18)


def _apply(app, step) -> None:
    with app.app_context():
        store = get_store()
        now = store.clock()
        if step[0] == "save":
            _, guid, category, tags, author, version, status = step
            when = now + timedelta(days=1) if status == "scheduled" else now - timedelta(hours=GUIDS.index(guid) + 1)
            data = {"guid": guid, "title": f"A headline {guid[-1]} v{version}", "category": category,
                    "body": f"<p>Body {version} <a href='/rel'>link</a></p>", "tags": tags, "author": author,
                    "published": when.isoformat(), "status": "draft" if status == "draft" else "published"}  # fmt: skip
            store.save_article(article_record(data, now=now))
        elif step[0] == "delete":
            store.delete_article_with(step[1], lambda _article: None)
        elif step[0] == "rename":
            _, kind, n = step
            terms = store.terms(kind)
            if terms:
                term = terms[n % len(terms)]
                store.save_term(kind, term.slug, f"{term.name.split(' #')[0]} #{n}")
        else:
            _, kind, n = step
            terms = store.terms(kind)
            if len(terms) > 1:
                source, target = terms[n % len(terms)], terms[(n + 1) % len(terms)]
                store.delete_term(kind, source.slug, move_to=target.slug)


def _article_url(app, guid: str, what: str) -> str | None:
    with app.app_context():
        article = get_store().article_by_guid(guid)
    if article is None:
        return None
    day = article.published
    return {"page": article.path, "day": f"/{day:%Y/%m/%d}/", "month": f"/{day:%Y/%m}/"}[what]


# Besides random sequences, each kind of write followed by the reads it must change.
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
@example(steps=[("read", "/"), ("read", "/feed/"), ("rename", "category", 0), ("read", "/"), ("read", "/feed/")])
@example(steps=[("read", "/feed/json/"), ("rename", "tag", 0), ("read", "/feed/json/"), ("read", "/tag/markets/")])
@example(steps=[("read", "/"), ("rename", "author", 0), ("read", "/"), ("read", "/author/li-wei/feed/")])
@example(steps=[("read", "/category/world/"), ("save", GUIDS[0], "Economy", [], "Li Wei", 1, "published"),
                ("read", "/category/world/"), ("read", "/category/economy/"), ("read", "/tag/markets/")])  # fmt: skip
@example(steps=[("read", "/"), ("save", GUIDS[1], "World", ["Markets"], "Li Wei", 0, "draft"), ("read", "/"),
                ("save", GUIDS[1], "World", ["Markets"], "Li Wei", 0, "scheduled"), ("read", "/feed/"),
                ("delete", GUIDS[2]), ("read", "/"), ("read", "/sitemap.xml")])  # fmt: skip
@example(steps=[("read", GUIDS[0], "page"), ("read", GUIDS[1], "page"),
                ("save", GUIDS[3], "World", [], "Li Wei", 0, "published"),
                ("read", GUIDS[0], "page"), ("read", GUIDS[1], "page"), ("read", GUIDS[3], "day")])  # fmt: skip
@example(steps=[("read", GUIDS[2], "page"), ("save", GUIDS[1], "Science", ["Space"], "Amira Haddad", 2, "published"),
                ("read", GUIDS[2], "page"), ("read", GUIDS[0], "page"), ("read", GUIDS[1], "month")])  # fmt: skip
@example(steps=[("read", "/category/world/"), ("read", "/tag/markets/feed/atom/"), ("merge", "tag", 0),
                ("read", "/tag/markets/feed/atom/"), ("merge", "category", 0), ("read", "/category/world/"),
                ("read", "/")])  # fmt: skip
@example(steps=[("read", "/feed/archive/1/"), ("read", "/feed/archive/2/"), ("save", GUIDS[4], "World", [], "Li Wei", 0,
                "published"), ("read", "/feed/archive/1/"), ("read", "/feed/archive/2/"), ("delete", GUIDS[0]),
                ("read", "/feed/archive/1/"), ("read", "/feed/archive/2/")])  # fmt: skip
def test_every_cached_answer_is_what_a_fresh_render_shows(tmp_path_factory, steps):
    path = tmp_path_factory.mktemp("prop") / "prop.db"
    cached = make_app(path, CACHE_TYPE="SimpleCache", CACHE_THRESHOLD=50, FEED_ITEMS=2)
    twin = make_app(path, FRAGMENT_CACHE_SIZE=0, FEED_ITEMS=2)
    for guid in GUIDS[:3]:
        _apply(cached, ("save", guid, "World", ["Markets"], "Li Wei", 0, "published"))
    client, fresh = cached.test_client(), twin.test_client()
    seen: dict[str, tuple[str, bytes]] = {}
    for step in steps:
        if step[0] != "read":
            _apply(cached, step)
            continue
        url = step[1] if len(step) == 2 else _article_url(twin, *step[1:])
        if url is None:
            continue
        got, want = client.get(url), fresh.get(url)
        assert (got.status_code, got.data) == (want.status_code, want.data), url
        if got.status_code == 200 and url in seen:
            etag, body = seen[url]
            again = client.get(url, headers={"If-None-Match": etag})
            # 304 only if nothing changed; a 200 must carry the current bytes.
            assert again.status_code == 200 or body == got.data, url
            if again.status_code == 200:
                assert again.data == want.data, url
        if got.status_code == 200:
            seen[url] = (got.headers["ETag"], got.data)
