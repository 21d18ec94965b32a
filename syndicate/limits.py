"""Limits written once, imported by the input gate, the OpenAPI document, the store and the views.

A leaf module (it imports nothing of ours), so anything can import it without a cycle.
"""

from __future__ import annotations

import re

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"  # lowercase letters, digits and single hyphens
MAX_SLUG = 80
MAX_GUID = 500
MAX_TITLE = 500
MAX_SUMMARY = 5000
MAX_IMAGE_CAPTION = 2000
MAX_IMAGE_TYPE = 100
MAX_TERM_NAME = 200
MAX_TAGS = 50
MAX_PREVIOUS_SLUGS = 100
MAX_TERM_DESCRIPTION = 5000  # a category's description, an author's bio
MAX_TERM_POSITION = 1_000_000  # a category's place in the navigation
MAX_LANGUAGE_TAG = 35  # a BCP 47 tag (RFC 5646 advises supporting at least 35 characters)

# Every integer the API takes is range-checked before it reaches SQLite, whose INTEGER is a
# signed 64-bit number (a bigger Python int raises OverflowError deep in a query).
MAX_ROW_ID = 2**63 - 1  # the largest SQLite rowid: article ids in URLs and cursors
# The largest integer every JSON reader keeps exact (RFC 7493, I-JSON; JavaScript's
# Number.MAX_SAFE_INTEGER): an image length is echoed in feeds and API JSON, so a bigger one
# could not round-trip. 8 PiB is still far beyond any real file.
MAX_IMAGE_LENGTH = 2**53 - 1

# Search: a query longer than this is cut (it is echoed into page titles and feed links), and
# only the first pages of ranked results are offered (deeper pages cost an OFFSET scan each).
SEARCH_MAX_QUERY = 200
SEARCH_MAX_PAGE = 100
SEARCH_MAX_TERMS = 12  # words of a query that reach the full-text index; the rest are ignored
SEARCH_MIN_PREFIX = 3  # characters before a '*' (a shorter word beginning is searched as a word)
SEARCH_PHRASE_TOKENS = 16  # index tokens of one word (a long Chinese word is a phrase of bigrams)
SEARCH_TIME_LIMIT = 0.5  # seconds of CPU a search may take before it is stopped as too broad
SEARCH_MAX_CONCURRENT = 2  # uncached searches running at once per process; more get 503

# The API's article list.
API_DEFAULT_LIMIT = 20
API_MAX_LIMIT = 100
MAX_IDEMPOTENCY_KEY = 200  # characters of an Idempotency-Key header

# A page number in a URL (/page/n/, ?page=n): a positive whole number without a leading zero,
# short enough that no listing could reach it and no arithmetic on it can overflow.
PAGE_NUMBER = re.compile(r"[1-9][0-9]{0,8}")


def page_number(raw: str) -> int | None:
    """The page number ``raw`` spells, or None when it is not one (the caller answers 404)."""
    return int(raw) if PAGE_NUMBER.fullmatch(raw) else None
