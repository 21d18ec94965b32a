"""Security headers on every response (pages, feeds, API, static files and error pages).

The Content-Security-Policy is the second line of defence behind the sanitiser in
``content.clean_html``: even if hostile markup got into an article, the browser would run no
inline script, no event handler, no plugin, and no other site could frame our pages.
``CONTENT_SECURITY_POLICY`` in the config replaces the policy (e.g. to allow a script file).
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping

from flask import Flask, Response, current_app

# script-src 'none': the site is server-rendered and needs no JavaScript at all, so nothing a
# stored payload could inject (inline, event handler, javascript: URL, our own JSON) can run.
# img-src allows remote http(s) images because articles embed photos from agencies' CDNs;
# data: images are not allowed (the sanitiser drops data: URLs too).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'none'; object-src 'none'; style-src 'self'; img-src 'self' https: http:; "
    "font-src 'self'; media-src 'self' https:; connect-src 'self'; frame-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)

EXTENSION = "syndicate.security_headers"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def security_headers(policy: str = CONTENT_SECURITY_POLICY) -> dict[str, str]:
    """Every header this module adds, for code that builds responses outside Flask (a cache
    serving stored responses must add these too)."""
    return {"Content-Security-Policy": policy, **HEADERS}


def apply(headers: MutableMapping[str, str], policy: str = CONTENT_SECURITY_POLICY) -> None:
    """Add the security headers a response does not already set (a view may tighten one)."""
    present = {name.lower() for name in headers.keys()}
    for name, value in security_headers(policy).items():
        if name.lower() not in present:
            headers[name] = value


def add_security_headers(response: Response) -> Response:
    # One pass over the response's headers: werkzeug's ``name in headers`` raises and catches a
    # KeyError for each absent name, which cost more than the rest of this hook.
    headers = response.headers
    present = {name.lower() for name in headers.keys()}
    for name, value in current_app.extensions[EXTENSION]:
        if name.lower() not in present:
            headers.add(name, value)  # absent: appended, as setting it would
    return response


def init_app(app: Flask) -> None:
    # The policy is a setting: the headers are made once, not on every response.
    policy = app.config.get("CONTENT_SECURITY_POLICY") or CONTENT_SECURITY_POLICY
    app.extensions[EXTENSION] = tuple(security_headers(policy).items())
    app.after_request(add_security_headers)


_VALID_HOST = re.compile(
    r"^(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?"
    r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$"
)


class HostCheck:
    """Outermost WSGI layer: a request whose Host header is not a host name (``a..b``, a
    70-character label, spaces, non-ASCII) gets a plain 400 before any other code runs.
    Werkzeug builds redirect URLs from that header and fails on such names, which would
    otherwise surface as a 500."""

    def __init__(self, wsgi_app, policy: str = CONTENT_SECURITY_POLICY) -> None:
        self.wsgi_app = wsgi_app
        self.headers = [("Content-Type", "text/plain; charset=utf-8"), *security_headers(policy).items()]
        self.known: set[str] = set()

    def __call__(self, environ, start_response):
        host = environ.get("HTTP_HOST")
        if host is None or host in self.known:
            return self.wsgi_app(environ, start_response)
        if _VALID_HOST.match(host):
            if len(self.known) < 64:  # the few names a site is reached by; never grows unbounded
                self.known.add(host)
            return self.wsgi_app(environ, start_response)
        body = b"400 Bad Request: the Host header is not a valid host name.\n"
        start_response("400 Bad Request", [*self.headers, ("Content-Length", str(len(body)))])
        return [body] if environ.get("REQUEST_METHOD") != "HEAD" else [b""]
