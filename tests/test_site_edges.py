"""Addresses at the edges of the site: impossible or unrepresentable dates are the site's 404
page, and routing's trailing-slash redirects point at SITE_URL whatever Host was sent."""

from __future__ import annotations

import pytest

from tests.conftest import SITE_URL

DATE_ARCHIVES = [
    "/9999/", "/9999/12/", "/9999/12/31/", "/9999/01/", "/9999/01/01/",
    "/0000/", "/0000/01/", "/0000/01/01/", "/2026/00/", "/2026/13/", "/2026/99/",
    "/2026/01/00/", "/2026/01/32/", "/2026/02/30/", "/2025/02/29/", "/1969/12/31/", "/0001/01/01/",
]  # fmt: skip


@pytest.mark.parametrize("path", [p + suffix for p in DATE_ARCHIVES for suffix in ("", "page/2/")])
def test_impossible_or_overflowing_dates_are_the_sites_404(demo_client, path):
    response = demo_client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Page not found" in html and '<header class="masthead">' in html  # the site's look


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ("/2026/11", "/2026/11/"),
        ("/category/world", "/category/world/"),
        ("/category/world/page/2", "/category/world/page/2/"),
        ("/api/v1", "/api/v1/"),
        ("/2026/11?utm=x", "/2026/11/?utm=x"),
    ],
)
def test_slash_redirects_point_at_site_url_not_the_host_header(client, path, target):
    response = client.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 308
    assert response.headers["Location"] == SITE_URL + target
    assert "evil.example" not in response.get_data(as_text=True)
