"""/healthz: 200 when the database answers, 503 when it is missing or broken; never cached."""

from __future__ import annotations

import pytest

from tests.conftest import make_app


@pytest.mark.parametrize("cache_type", ["NullCache", "SimpleCache"])
def test_healthz_reports_the_database(db_copy, cache_type):
    app = make_app(db_copy, CACHE_TYPE=cache_type)
    client = app.test_client()
    ok = client.get("/healthz")
    assert ok.status_code == 200 and ok.json == {"status": "ok"}
    assert ok.headers["Cache-Control"] == "no-store" and "X-Cache" not in ok.headers
    for suffix in ("-wal", "-shm", ""):
        path = db_copy.with_name(db_copy.name + suffix)
        if path.exists():
            path.unlink()
    missing = client.get("/healthz")
    assert missing.status_code == 503 and missing.json == {"status": "unavailable"}
    assert not db_copy.exists()  # the check did not create an empty database
    db_copy.write_bytes(b"not a database" * 1000)
    assert client.get("/healthz").status_code == 503
    head = client.head("/healthz")
    assert head.status_code == 503 and head.data == b""
