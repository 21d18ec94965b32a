"""Outgoing HTTP for the fediverse: fetching remote actors and keys, and POSTing to inboxes.

Every request has a timeout and a size limit, and goes only to public addresses: a host that
resolves to a private, loopback, link-local or reserved address is refused (server-side request
forgery), unless ``FEDIVERSE_ALLOW_PRIVATE_ADDRESSES`` is on (tests, closed networks).
"""

from __future__ import annotations

import ipaddress
import json
import socket
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
USER_AGENT = "Syndicate (ActivityPub)"
MAX_DOCUMENT = 256 * 1024  # bytes: an actor document larger than this is refused


class FetchError(Exception):
    """A remote document could not be fetched or read (the message says why)."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect could lead to a private address: follow none


_OPENER = urllib.request.build_opener(_NoRedirects)


def check_address(url: str, allow_private: bool) -> None:
    """Raise ``FetchError`` unless ``url`` is http(s) and its host resolves to public addresses only."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"not an http(s) URL: {url!r}")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except (OSError, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {parts.hostname}: {exc}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global or address.is_multicast:
            raise FetchError(f"{parts.hostname} resolves to a non-public address ({address}): refused")


def fetch_json(url: str, *, timeout: float, allow_private: bool, headers: dict[str, str] | None = None) -> Any:
    """GET an ActivityStreams document (at most ``MAX_DOCUMENT`` bytes) and parse it."""
    check_address(url, allow_private)
    request = urllib.request.Request(url, headers={"Accept": ACCEPT, "User-Agent": USER_AGENT, **(headers or {})})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            body = response.read(MAX_DOCUMENT + 1)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url} answered {exc.code}") from None
    except (OSError, ValueError) as exc:
        raise FetchError(f"cannot fetch {url}: {exc}") from None
    if len(body) > MAX_DOCUMENT:
        raise FetchError(f"{url} is larger than {MAX_DOCUMENT} bytes")
    try:
        return json.loads(body)
    except ValueError:
        raise FetchError(f"{url} is not JSON") from None


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_private: bool) -> int:
    """POST ``body``; returns the status code (raises ``FetchError`` on a network error)."""
    check_address(url, allow_private)
    request = urllib.request.Request(url, data=body, method="POST", headers={"User-Agent": USER_AGENT, **headers})
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(65536)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError) as exc:
        raise FetchError(f"cannot reach {url}: {exc}") from None
