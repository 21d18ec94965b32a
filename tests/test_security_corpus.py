"""Hostile HTML stored through the API comes out harmless: in the API's answer, in the store,
and in what a later PATCH or PUT writes. Titles and captions stay plain text."""

from __future__ import annotations

import pytest

from syndicate import content
from syndicate.db import get_store

from .api_support import api_app, auth
from .xss_corpus import BROWSER_PAYLOADS, PAYLOADS, TITLE_PAYLOADS, assert_harmless, problems

ARTICLES = "/api/v1/articles"


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """Every payload stored through the API as an article body (and summary and caption)."""
    app = api_app(tmp_path_factory.mktemp("corpus") / "corpus.db")
    client = app.test_client()
    results = []
    for n, payload in enumerate(PAYLOADS + BROWSER_PAYLOADS):
        response = client.post(
            ARTICLES,
            json={
                "title": f"Payload {n} {payload}",
                "body": f"<p>before</p>{payload}<p>after</p>",
                "summary": payload,
                "image_caption": payload,
                "image_url": "https://img.example.com/photo.jpg",
            },
            headers=auth(),
        )
        assert response.status_code == 201, (payload, response.json)
        results.append((payload, response.json))
    with app.app_context():
        store = get_store()
        yield [(payload, api, store.article_by_guid(api["guid"])) for payload, api in results]


def test_the_checker_is_not_vacuous():
    """Most raw payloads are caught by ``problems`` (the rest are neutralised by any HTML parser)."""
    caught = [p for p in PAYLOADS + BROWSER_PAYLOADS if problems(p)]
    assert len(caught) >= 0.8 * len(PAYLOADS + BROWSER_PAYLOADS)


@pytest.mark.parametrize("index", range(len(PAYLOADS + BROWSER_PAYLOADS)))
def test_stored_html_is_harmless(stored, index):
    payload, api, article = stored[index]
    assert_harmless(article.body, f"stored body of {payload!r}")
    assert_harmless(api["body"], f"API body of {payload!r}")
    assert api["body"] == article.body
    # Balanced: re-sanitising changes nothing.
    assert content.clean_html(article.body) == article.body
    # Text fields are single-line plain text (escaped on output), never HTML to trust.
    assert "\n" not in article.title and "\x00" not in article.title
    assert article.image_caption == content.clean_text(payload)


def test_stored_text_is_xml_safe(stored):
    for _payload, _api, article in stored:
        for text in (article.title, article.summary, article.body, article.image_caption):
            assert content.xml_safe(text) == text


@pytest.mark.parametrize("payload", TITLE_PAYLOADS)
def test_titles_are_text(tmp_path, payload):
    client = api_app(tmp_path / "titles.db").test_client()
    article = client.post(ARTICLES, json={"title": payload, "body": "<p>x</p>"}, headers=auth()).json
    assert article["title"] == payload  # kept verbatim as text; templates and feeds escape it


def test_patch_and_put_are_sanitised_too(tmp_path):
    client = api_app(tmp_path / "patch.db").test_client()
    article = client.post(ARTICLES, json={"title": "Clean", "body": "<p>ok</p>"}, headers=auth()).json
    for method in (client.patch, client.put):
        for payload in PAYLOADS[:20]:
            response = method(f"{ARTICLES}/{article['id']}", json={"title": "T", "body": payload}, headers=auth())
            assert response.status_code == 200
            assert_harmless(response.json["body"], f"{method.__name__} {payload!r}")
