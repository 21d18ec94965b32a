"""Request bodies the API would refuse are refused on their headers, never read; the errors
waitress answers itself are JSON under /api/. Real waitress, real sockets: every request here
sends its headers only and expects the answer without sending the body."""

from __future__ import annotations

import json
import socket
import time

import pytest

from syndicate.db import get_store
from syndicate.gate import INBOX_MAX_BODY, HeaderGate

from .conftest import make_app

HUGE = 300 * 1024 * 1024  # a 300 MB upload that is never sent


def exchange(port: int, head: bytes, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` (request line and headers, maybe a little body), read until the server
    closes: (status, headers, body). A server that waits for the body times out here."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head)
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except ConnectionResetError:
            pass  # a server closing with unread request bytes resets; the answer came first
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def post_head(path: str = "/api/v1/articles", length: int = HUGE, token: str | None = None, **extra: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: news.example.com", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    lines += [f"{k.replace('_', '-')}: {v}" for k, v in extra.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture
def tokens(app):
    with app.app_context():
        store = get_store()
        store.create_token("writer", "syn_write_secret", "write")
        store.create_token("reader", "syn_read_secret", "read")
        store.create_token("gone", "syn_revoked_secret", "write")
        store.revoke_token("gone")
    return {"write": "syn_write_secret", "read": "syn_read_secret", "revoked": "syn_revoked_secret"}


@pytest.mark.parametrize(
    ("token", "status", "message"),
    [
        (None, 401, "bearer token is required"),
        ("syn_not_a_token", 401, "unknown or revoked"),
        ("revoked", 401, "unknown or revoked"),
        ("read", 403, "read-only"),
        ("write", 413, "larger than 2097152 bytes"),
    ],
)
def test_a_300_mb_post_is_answered_on_its_headers(app, tokens, live_server, token, status, message):
    server = live_server(app)
    started = time.monotonic()
    code, headers, body = exchange(server.port, post_head(token=tokens.get(token, token)))
    assert code == status, body
    assert headers["content-type"] == "application/json"
    assert message in json.loads(body)["error"]
    assert headers["connection"] == "close"  # the unsent body is not waited for
    assert time.monotonic() - started < 5  # well inside the read timeout: no body was needed
    if status == 401:
        assert headers["www-authenticate"].startswith('Bearer realm="syndicate"')


def test_no_100_continue_is_sent_for_a_refused_body(app, tokens, live_server):
    server = live_server(app)
    code, _headers, body = exchange(server.port, post_head(Expect="100-continue"))
    assert code == 401 and not body.startswith(b"HTTP/1.1 100")


def test_a_chunked_body_needs_a_token_and_is_bounded(app, tokens, live_server):
    server = live_server(app)
    chunked = post_head(length=None, Transfer_Encoding="chunked")
    assert exchange(server.port, chunked)[0] == 401
    # With a token, a chunked body is read, but only up to the limit (plus chunk framing).
    head = post_head(length=None, token=tokens["write"], Transfer_Encoding="chunked")
    chunk = b"x" * 65536
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        for _ in range(64):  # 4 MiB, twice the limit
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        answer = b""
        while data := sock.recv(65536):
            answer += data
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"status": 413' in answer  # waitress's cut-off (the API's own 413 has no "status")


def test_a_client_sending_its_refused_body_eagerly_still_reads_the_answer(app, live_server):
    server = live_server(app)
    body = b"[" + b"0," * 2_000_000 + b"0]"  # 4 MB, sent without waiting, as most clients do
    for head in (post_head(length=len(body)), post_head(path="/search", length=len(body))):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(head + body)  # the server drains what it refused instead of resetting
            answer = b""
            while data := sock.recv(65536):
                answer += data
        assert answer.split(b" ", 2)[1] in (b"401", b"413") and answer.endswith((b"}", b")")), answer[-200:]


def test_a_body_within_the_limit_with_a_write_token_still_works(app, tokens, live_server):
    server = live_server(app)
    article = {"title": "Gate open", "body": "<p>Body read as usual.</p>"}
    payload = json.dumps(article).encode()
    code, _headers, body = exchange(
        server.port, post_head(length=len(payload), token=tokens["write"], Connection="close") + payload
    )
    assert code == 201, body


def test_bodies_are_refused_outside_the_api(app, live_server):
    server = live_server(app)
    code, headers, body = exchange(server.port, post_head(path="/", length=HUGE))
    assert code == 413 and headers["content-type"].startswith("text/plain")
    assert b"does not take a request body" in body


def test_waitress_own_errors_are_json_under_the_api(app, live_server):
    server = live_server(app, threads=2)
    too_big = b"GET /api/v1/articles HTTP/1.1\r\nHost: a\r\nX-Pad: " + b"a" * 70_000 + b"\r\n\r\n"
    bad_header = b"GET /api/v1/articles HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n"
    for head, status in ((too_big, 431), (bad_header, 400)):
        code, headers, body = exchange(server.port, head)
        assert code == status and headers["content-type"] == "application/json"
        assert json.loads(body)["status"] == status
        assert headers["x-content-type-options"] == "nosniff"
    # Outside the API, and when there is no readable request line, waitress's plain text stays.
    code, headers, _body = exchange(server.port, b"GET / HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n")
    assert code == 400 and headers["content-type"].startswith("text/plain")
    code, headers, _body = exchange(server.port, b"NONSENSE\r\n\r\n")
    assert code == 400 and headers["content-type"].startswith("text/plain")


def test_the_gate_lets_the_api_decide_when_the_database_cannot_answer(tmp_path):
    gate = HeaderGate(str(tmp_path / "missing-dir" / "none.db"), 1000)
    # No database to ask: not refused here (the API authenticates again and answers).
    assert gate.check("POST", "/api/v1/articles", 10, False, "Bearer syn_x") is None
    assert gate.check("POST", "/api/v1/articles", 10, False, "").status == 401
    assert gate.check("GET", "/api/v1/articles", 0, False, "") is None


def test_fediverse_inboxes_take_signed_bodies_only_when_the_fediverse_is_on(tmp_path):

    make_app(tmp_path / "gate.db")  # a migrated database
    off = HeaderGate(str(tmp_path / "gate.db"), 1024)
    on = HeaderGate(str(tmp_path / "gate.db"), 1024, inboxes=True)
    try:
        for path in ("/ap/inbox", "/ap/site/inbox", "/ap/category/world/inbox", "/ap/author/a-b/inbox"):
            assert off.check("POST", path, 500, False, "").status == 413
            assert on.check("POST", path, 500, False, "") is None  # no token: the signature decides
            assert on.check("POST", path, INBOX_MAX_BODY + 1, False, "").status == 413
        # Anything else still needs the API and a token.
        assert on.check("POST", "/ap/outbox", 500, False, "").status == 413
        assert on.check("POST", "/ap/inbox/extra", 500, False, "").status == 413
    finally:
        off.close()
        on.close()
