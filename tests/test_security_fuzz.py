"""hypothesis throws malformed requests at every public route and every API route: odd paths,
methods, query strings, headers, tokens and bodies. No answer may be a 5xx or show a traceback,
and a refused request must leave the database exactly as it was."""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .api_support import READ, WRITE, api_app, auth, checksum

PUBLIC_ROUTES = [
    "/",
    "/page/{n}/",
    "/search",
    "/category/{t}/",
    "/category/{t}/page/{n}/",
    "/tag/{t}/",
    "/author/{t}/",
    "/feed/",
    "/feed/atom/",
    "/feed/json/",
    "/category/{t}/feed/",
    "/tag/{t}/feed/atom/",
    "/search/feed/",
    "/{y}/",
    "/{y}/{m}/",
    "/{y}/{m}/{d}/",
    "/{y}/{m}/{d}/{t}/",
    "/sitemap.xml",
    "/robots.txt",
    "/static/{t}",
    "/{t}",
]
API_ROUTES = [
    "/api/v1/", "/api/v1/articles", "/api/v1/articles", "/api/v1/articles", "/api/v1/articles/{t}",
    "/api/v1/articles/{n}", "/api/v1/articles/{n}", "/api/v1/openapi.json", "/api/v1/{t}",
]  # fmt: skip
METHODS = ["GET", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND"]
ASCII = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)

segment = st.one_of(
    st.sampled_from(["world", "economy", "x", "..", "%2e%2e", "%00", "page", "feed", "-1", "1e9"]),
    st.text(max_size=30).map(lambda s: quote(s, safe="")),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/?#%"), max_size=20),
)
number = st.one_of(st.integers(-5, 10**30).map(str), st.integers(1, 4).map(str), segment)


def paths(routes: list[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda route, t, n, y, m, d: route.format(t=t, n=n, y=y, m=m, d=d),
        st.sampled_from(routes),
        segment,
        number,
        st.one_of(st.integers(0, 99999).map(str), segment),
        st.one_of(st.integers(-1, 13).map(lambda v: f"{v:02d}"), segment),
        st.one_of(st.integers(-1, 32).map(lambda v: f"{v:02d}"), segment),
    )


query = st.dictionaries(
    st.sampled_from(["q", "page", "content", "cursor", "limit", "status", "category", "author", "updated_since",
                     "order", "format"]) | st.text(max_size=8),
    st.text(max_size=40),
    max_size=4,
)  # fmt: skip
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
article_like = st.fixed_dictionaries(
    {},
    optional={
        "title": st.one_of(st.text(max_size=60), json_values),
        "body": st.one_of(st.text(max_size=200), json_values),
        "guid": st.one_of(st.text(max_size=30), json_values),
        "category": st.one_of(st.sampled_from(["world", "nope", "", "Economy"]), json_values),
        "tags": json_values,
        "published": st.one_of(st.sampled_from(["2026-01-01T00:00:00", "2026-01-01T00:00:00Z", "0000-00-00"]),
                               st.text(max_size=30)),
        "image_url": st.one_of(st.sampled_from(["javascript:alert(1)", "https://x/y.jpg", "data:,x"]), json_values),
        "status": st.one_of(st.sampled_from(["draft", "published", "deleted"]), json_values),
        "bogus": json_values,
    },
)  # fmt: skip
bodies = st.one_of(
    st.none(),
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    article_like.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"{", b"[" * 5000, b'{"title": NaN}', b"\xff\xfe", b'{"title": "x"' + b" " * 10]),
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "Authorization": st.one_of(
            st.sampled_from([f"Bearer {READ}", "Bearer", "Basic Zm9vOmJhcg==", f"bearer  {WRITE}"]),
            ASCII,
        ),
        "Content-Type": st.one_of(
            st.sampled_from(["application/json", "application/json; charset=latin-1", "text/plain",
                             "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                             "application/merge-patch+json"]),
            ASCII,
        ),
        "If-Match": ASCII,
        "If-None-Match": ASCII,
        "If-Modified-Since": ASCII,
        "Idempotency-Key": ASCII,
        "Accept": ASCII,
        "Accept-Encoding": st.sampled_from(["gzip", "br", "identity;q=0", "*"]) | ASCII,
        "Range": ASCII,
        "Content-Length": st.sampled_from(["0", "-1", "99999999999", "abc"]),
    },
)  # fmt: skip


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    app = api_app(tmp_path_factory.mktemp("fuzz") / "fuzz.db")
    client = app.test_client()
    for n in range(3):
        body = {"title": f"Seed {n}", "category": "world", "tags": ["seed"], "author": "Ana"}
        assert client.post("/api/v1/articles", json=body, headers=auth()).status_code == 201
    return app


def check(app, method, path, query, headers, body) -> None:
    client = app.test_client()
    if body is not None and "Content-Type" not in headers and path.startswith("/api/"):
        headers = {**headers, "Content-Type": "application/json"}
    before = checksum(app)
    # werkzeug's test client reads "//x/..." as a URL with host "x" (and fails on hosts like
    # ".."); a real server hands such a path to the app as PATH_INFO, so send it that way.
    overrides = {"PATH_INFO": path} if path.startswith("//") else {}
    response = client.open(
        "/" if overrides else path,
        method=method,
        query_string=urlencode(query),
        headers=headers,
        data=body,
        environ_overrides=overrides,
    )
    assert response.status_code < 500, (method, path, response.status_code, response.get_data()[:300])
    data = response.get_data()
    assert b"Traceback" not in data and b'File "' not in data
    if response.status_code >= 400:
        assert checksum(app) == before, f"a refused {method} {path} ({response.status_code}) changed the database"
    if path.startswith("/api/v1") and response.status_code >= 400 and method != "HEAD":
        assert response.is_json and "error" in response.json


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.mark.slow
@FUZZ
@given(method=st.sampled_from(METHODS), path=paths(PUBLIC_ROUTES), query=query, headers=headers, body=bodies)
def test_malformed_requests_to_public_routes(app, method, path, query, headers, body):
    check(app, method, path, query, headers, body)


@pytest.mark.slow
@FUZZ
@given(
    method=st.sampled_from(["GET", "POST", "POST", "PUT", "PATCH", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
    path=paths(API_ROUTES),
    query=query,
    headers=st.tuples(
        headers,
        st.sampled_from([f"Bearer {WRITE}"] * 4 + [f"Bearer {READ}", None]),
        st.sampled_from(["application/json"] * 4 + [None]),
    ).map(lambda t: {**t[0], **({"Authorization": t[1]} if t[1] else {}), **({"Content-Type": t[2]} if t[2] else {})}),
    body=st.one_of(bodies, article_like.map(lambda v: json.dumps(v).encode())),
)
def test_malformed_requests_to_the_api(app, method, path, query, headers, body):
    check(app, method, path, query, headers, body)
