"""Security headers on every response (pages, feeds, API, static files and error pages).

The Content-Security-Policy is the second line of defence behind the sanitiser in
``content.clean_html``: even if hostile markup got into an article, the browser would run no
inline script, no event handler, no plugin, and no other site could frame our pages.
``CONTENT_SECURITY_POLICY`` in the config replaces the policy (e.g. to allow a script file).
"""

from __future__ import annotations

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
    for name, value in security_headers(policy).items():
        if name not in headers:
            headers[name] = value


def add_security_headers(response: Response) -> Response:
    apply(response.headers, current_app.config.get("CONTENT_SECURITY_POLICY") or CONTENT_SECURITY_POLICY)
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
