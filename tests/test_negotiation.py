"""Content negotiation shared by the views and the cache: which coding a client accepts, and
which representation of a feed it wants."""

from __future__ import annotations

import pytest

from syndicate.negotiation import coding_preference, prefers_html, wants_browser_feed

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.mark.parametrize(
    "header, order",
    [
        ("", ("identity",)),
        ("gzip, deflate, br", ("br", "gzip", "identity")),
        ("br;q=0, gzip", ("gzip", "identity")),
        ("gzip;q=0.5, identity;q=0.9", ("identity", "gzip")),
        ("*;q=0", ()),
        ("identity;q=0, *", ("br", "gzip")),
        ("gzip;q=0, *", ("br", "identity")),  # a named coding overrides the wildcard
        ("x-gzip", ("gzip", "identity")),
        ("GZIP", ("gzip", "identity")),
        ("gzip;q=abc, br", ("br", "identity")),  # an invalid weight drops that coding
    ],
)
def test_coding_preference_follows_rfc_9110(header, order):
    assert coding_preference(header) == order


@pytest.mark.parametrize(
    "accept, html",
    [
        (BROWSER, True),
        ("", False),
        ("*/*", False),
        ("application/rss+xml, */*;q=0.5", False),
        ("application/atom+xml,text/html;q=0.9", False),
        ("text/html;q=0.5, application/rss+xml;q=0.4", True),
    ],
)
def test_browsers_prefer_html_feed_readers_do_not(accept, html):
    assert prefers_html(accept) is html


def test_only_rss_and_atom_have_a_browser_representation():
    assert wants_browser_feed("rss", BROWSER) and wants_browser_feed("atom", BROWSER)
    assert not wants_browser_feed("json", BROWSER)  # JSON Feed has no stylesheet view
    assert not wants_browser_feed(None, BROWSER)  # not a feed at all
    assert not wants_browser_feed("rss", "application/rss+xml")
