"""A remote ActivityPub server for the fediverse tests: a real HTTP server on loopback that
serves one actor (with its own key pair) and records every POST to its inbox."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from syndicate.fediverse import signatures


class Remote:
    """``https://remote.example/users/alice`` lives at http://127.0.0.1:<port>/users/alice."""

    def __init__(self, inbox_status: int = 202) -> None:
        self.public_pem, self.private_pem = signatures.generate_key()
        self.inbox_status = inbox_status
        self.gate = threading.Event()  # cleared: the inbox holds every POST until it is set again
        self.gate.set()
        self.received: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        remote = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's naming)
                if urlsplit(self.path).path == "/users/alice":
                    body = json.dumps(remote.actor()).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/activity+json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_error(404)

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                remote.gate.wait(30)
                with remote._lock:
                    remote.received.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                    )
                self.send_response(remote.inbox_status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.actor_id = self.base + "/users/alice"
        self.key_id = self.actor_id + "#main-key"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def actor(self) -> dict[str, Any]:
        return {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": self.actor_id,
            "type": "Person",
            "preferredUsername": "alice",
            "inbox": self.actor_id + "/inbox",
            "endpoints": {"sharedInbox": self.base + "/inbox"},
            "publicKey": {"id": self.key_id, "owner": self.actor_id, "publicKeyPem": self.public_pem},
        }

    def activities(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            docs = [json.loads(r["body"]) for r in self.received]
        return [d for d in docs if kind is None or d.get("type") == kind]

    def wait_for(self, kind: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.activities(kind)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"no {kind} arrived; got {[d.get('type') for d in self.activities()]}")

    def signed(self, url: str, doc: dict[str, Any], *, private_pem: str | None = None) -> tuple[bytes, dict[str, str]]:
        """Body and headers of a POST signed by alice (or with another key, to forge it)."""
        body = json.dumps(doc).encode()
        headers = signatures.sign_request("POST", url, body, self.key_id, private_pem or self.private_pem)
        return body, headers

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
