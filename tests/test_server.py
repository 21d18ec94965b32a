"""The production server: waitress with our settings, and keep-alive after a 304."""

from __future__ import annotations

import http.client


def test_a_304_keeps_the_connection_open(demo_app, live_server):
    server = live_server(demo_app)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/feed/")
    first = conn.getresponse()
    body = first.read()
    etag = first.getheader("ETag")
    assert first.status == 200 and body and etag
    for _ in range(3):  # several revalidations on one connection, as a feed reader does
        conn.request("GET", "/feed/", headers={"If-None-Match": etag})
        again = conn.getresponse()
        assert again.status == 304 and again.read() == b""
        assert (again.getheader("Connection") or "").lower() != "close"
    conn.request("GET", "/")
    page = conn.getresponse()
    assert page.status == 200 and b"<html" in page.read()
    conn.close()


def test_client_asking_to_close_gets_closed(demo_app, live_server):
    server = live_server(demo_app)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/feed/")
    etag = conn.getresponse().getheader("ETag")
    conn.close()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/feed/", headers={"If-None-Match": etag, "Connection": "close"})
    response = conn.getresponse()
    assert response.status == 304 and response.getheader("Connection").lower() == "close"
