"""A malformed Host header gets a clean 400, never a 500, on every kind of route."""

from __future__ import annotations

import http.client

import pytest

BAD_HOSTS = ["a..b", "x" * 70 + ".com", "exé.com", "[::1", "a b", "evil.com:port", "-leading.com"]


@pytest.mark.parametrize("host", BAD_HOSTS)
@pytest.mark.parametrize("path", ["/feed", "/page/1/", "/", "/feed/", "/api/v1/articles", "/nope"])
def test_bad_host_header_is_a_400(demo_client, host, path):
    response = demo_client.get(path, headers={"Host": host})
    assert response.status_code == 400
    assert b"Host header" in response.data
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("host", ["news.example.com", "127.0.0.1:8000", "[::1]:8000", "localhost", "a_b.internal"])
def test_good_host_headers_pass(demo_client, host):
    assert demo_client.get("/feed/", headers={"Host": host}).status_code == 200


def test_bad_host_over_a_real_socket(demo_app, live_server):
    server = live_server(demo_app)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("GET", "/feed", skip_host=True)
    conn.putheader("Host", "a..b")
    conn.endheaders()
    assert conn.getresponse().status == 400
