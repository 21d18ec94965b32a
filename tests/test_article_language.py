"""An article in another language than the site's: the API takes and checks its BCP 47 tag, its
page and card say lang/dir, its Atom entry xml:lang, its JSON Feed item language; importers read
it where the source has it, and export/import carries it."""

from __future__ import annotations

import json

from lxml import etree

from .api_support import api_app, auth


def test_the_api_takes_a_language_and_pages_and_feeds_show_it(tmp_path):
    app = api_app(tmp_path / "t.db")
    client = app.test_client()
    body = {"title": "خبر تازه", "body": "<p>متن خبر</p>", "category": "world", "language": "fa"}
    created = client.post("/api/v1/articles", json=body, headers=auth())
    assert created.status_code == 201, created.json
    assert created.json["language"] == "fa"
    english = client.post("/api/v1/articles", json={"title": "Plain news", "category": "world"}, headers=auth())
    assert "language" not in english.json  # inherits the site's

    page = client.get(created.json["url"].replace("https://news.example.com", "")).get_data(as_text=True)
    assert '<article class="story" lang="fa" dir="rtl">' in page
    front = client.get("/").get_data(as_text=True)
    assert '<article class="card" lang="fa" dir="rtl">' in front
    assert front.count('<article class="card">') == 1  # the English one has no override

    atom = etree.fromstring(client.get("/feed/atom/", headers={"Accept": "application/atom+xml"}).data)
    langs = [e.get("{http://www.w3.org/XML/1998/namespace}lang") for e in atom.iter("{*}entry")]
    assert sorted(langs, key=str) == sorted(["fa", None], key=str)
    items = client.get("/feed/json/", headers={"Accept": "application/feed+json"}).json["items"]
    assert [i.get("language") for i in items if i["title"] == "خبر تازه"] == ["fa"]
    assert [i.get("language") for i in items if i["title"] == "Plain news"] == [None]


def test_a_bad_language_tag_is_a_clear_422_naming_the_field(tmp_path):
    client = api_app(tmp_path / "t.db").test_client()
    for bad in ("xx-nonsense", "fa; DROP", 12, "x" * 40):
        response = client.post("/api/v1/articles", json={"title": "T", "language": bad}, headers=auth())
        assert response.status_code == 422 and "language" in json.dumps(response.json)


def test_importers_read_the_item_language_and_export_carries_it(tmp_path):
    app = api_app(tmp_path / "t.db")
    runner = app.test_cli_runner()
    rss = tmp_path / "f.rss"
    rss.write_text(
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title>'
        "<link>https://a.example/</link><description>d</description><language>en</language>"
        "<item><title>Persian item</title><link>https://a.example/p</link><guid>g-fa</guid>"
        "<dc:language>fa</dc:language><pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate></item>"
        "<item><title>Bad tag</title><link>https://a.example/b</link><guid>g-bad</guid>"
        "<dc:language>not a tag</dc:language><pubDate>Mon, 02 Nov 2026 10:00:00 GMT</pubDate></item>"
        "</channel></rss>"
    )
    atom = tmp_path / "f.atom"
    atom.write_text(
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en"><title>t</title><id>urn:x</id>'
        "<updated>2026-11-02T10:00:00Z</updated>"
        '<entry xml:lang="ar"><title>Arabic entry</title><id>g-ar</id><updated>2026-11-02T10:00:00Z</updated></entry>'
        "<entry><title>Feed language</title><id>g-en</id><updated>2026-11-02T10:00:00Z</updated></entry></feed>"
    )
    jsonfeed = tmp_path / "f.json"
    jsonfeed.write_text(
        json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "title": "t",
                "items": [
                    {"id": "g-ru", "title": "Russian", "language": "ru", "date_published": "2026-11-02T10:00:00Z"}
                ],
            }
        )
    )
    for source in (rss, atom, jsonfeed):
        result = runner.invoke(args=["import", str(source)])
        assert result.exit_code == 0, result.output
    export = tmp_path / "out.jsonl"
    assert runner.invoke(args=["export", "-o", str(export)]).exit_code == 0
    records = [r for r in map(json.loads, export.read_text().splitlines()) if "guid" in r]
    languages = {r["guid"]: r.get("language") for r in records}
    assert languages == {"g-fa": "fa", "g-bad": None, "g-ar": "ar", "g-en": None, "g-ru": "ru"}

    twin = api_app(tmp_path / "twin.db")
    assert twin.test_cli_runner().invoke(args=["import", str(export)]).exit_code == 0
    again = tmp_path / "again.jsonl"
    assert twin.test_cli_runner().invoke(args=["export", "-o", str(again)]).exit_code == 0
    assert again.read_bytes() == export.read_bytes()
