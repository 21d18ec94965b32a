"""/healthz: 200 when the database answers, 503 when it is missing or broken; /readyz: 200 only
when a write would succeed now; neither ever cached. (Full and read-only disks, for real:
test_failing_disk.py.)"""

from __future__ import annotations

import pytest

from tests.conftest import make_app


@pytest.mark.parametrize("cache_type", ["NullCache", "SimpleCache"])
def test_healthz_reports_the_database(db_copy, cache_type):
    app = make_app(db_copy, CACHE_TYPE=cache_type)
    client = app.test_client()
    ok = client.get("/healthz")
    assert ok.status_code == 200 and ok.json == {"status": "ok", "writes": "ok"}
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


def test_readyz_says_whether_a_write_would_succeed_now(db_copy, hold_lock):
    app = make_app(db_copy, CACHE_TYPE="SimpleCache")
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json == {"status": "ready"}
    assert ready.headers["Cache-Control"] == "no-store" and "X-Cache" not in ready.headers
    holder = hold_lock(db_copy)
    locked = client.get("/readyz")
    assert locked.status_code == 503 and locked.json == {"status": "unavailable", "writes": "locked"}
    # Pages are still served: /healthz, which takes no lock, stays green.
    assert client.get("/healthz").json == {"status": "ok", "writes": "ok"}
    holder.release()
    assert client.get("/readyz").status_code == 200
    # Below READY_MIN_FREE_BYTES free on the database's disk: "disk full".
    app.config["READY_MIN_FREE_BYTES"] = 10**15
    assert client.get("/readyz").json == {"status": "unavailable", "writes": "disk full"}
    assert client.get("/healthz").json == {"status": "degraded", "writes": "disk full"}
    for suffix in ("-wal", "-shm", ""):
        db_copy.with_name(db_copy.name + suffix).unlink(missing_ok=True)
    assert client.get("/readyz").json == {"status": "unavailable", "writes": "database unavailable"}
