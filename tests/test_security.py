"""Security headers on every response: pages, feeds, API (success and errors), static files,
and a policy that forbids inline scripts and framing."""

from __future__ import annotations

import pytest

from syndicate import security

from .api_support import READ, api_app, auth


@pytest.fixture
def client(tmp_path):
    return api_app(tmp_path / "sec.db").test_client()


def directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.mark.parametrize(
    "method, path, kwargs",
    [
        ("get", "/", {}),
        ("get", "/page/2/", {}),
        ("get", "/feed/", {}),
        ("get", "/feed/atom/", {}),
        ("get", "/feed/json/", {}),
        ("get", "/no/such/page/", {}),
        ("get", "/static/style.css", {}),
        ("get", "/api/v1/openapi.json", {}),
        ("get", "/api/v1/articles", {"headers": auth(READ)}),
        ("get", "/api/v1/articles", {}),
        ("post", "/api/v1/articles", {"headers": auth(), "data": "{", "content_type": "application/json"}),
        ("post", "/api/v1/articles", {"headers": auth(), "json": {"title": "x"}}),
        ("delete", "/api/v1/openapi.json", {}),
        ("get", "/api/v1/articles/999", {"headers": auth(READ)}),
    ],
)
def test_every_response_carries_the_security_headers(client, method, path, kwargs):
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code < 500
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    policy = directives(headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    # RSS and Atom may load our own XSLT (browsers treat it as a script); nothing inline, ever.
    xslt = path in ("/feed/", "/feed/atom/")
    assert policy["script-src"] == (["'self'"] if xslt else ["'none'"])
    assert policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"]
    assert "data:" not in headers["Content-Security-Policy"]
    assert policy["base-uri"] == ["'none'"] and policy["form-action"] == (["'none'"] if xslt else ["'self'"])
    assert policy["style-src"] == ["'self'"]


def test_a_view_may_tighten_a_header_and_the_policy_is_configurable(tmp_path):
    app = api_app(tmp_path / "csp.db", CONTENT_SECURITY_POLICY="default-src 'none'")

    @app.get("/custom-header-test")
    def custom():
        return "ok", 200, {"Referrer-Policy": "no-referrer"}

    response = app.test_client().get("/custom-header-test")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_security_headers_are_available_to_code_outside_flask():
    headers = {"Content-Type": "text/html"}
    security.apply(headers)
    assert headers["Content-Security-Policy"] == security.CONTENT_SECURITY_POLICY
    assert set(security.security_headers()) <= set(headers)
