"""Search in every script: Chinese and Japanese words inside unspaced text (two characters too),
Persian and Arabic spellings meeting, diacritics and digits; and the migration that rebuilds an
existing archive's index so its articles are found that way too."""

from __future__ import annotations

import sqlite3

import pytest

from syndicate import textnorm
from syndicate.store import Store, migrate

from .store_support import NOW, record


def found(store, query: str) -> list[str]:
    return [hit.article.title for hit in store.search(query, 1, 20).hits]


@pytest.fixture
def archive(store):
    store.clock = lambda: NOW
    texts = {
        "zh": ("东京奥运会今天开幕", "<p>东京奥运会今天开幕，数千名运动员参加。</p>"),
        "ja": ("東京で会議", "<p>日本の首相は東京で記者会見を開いた。</p>"),
        "ar": ("الكتاب العربي", "<p>قالَ الوزيرُ إنّ الكِتاب سيُنشر في ٢٠٢٦ في مدينة مكة.</p>"),
        "fa": ("کتاب فارسی", "<p>وزیر گفت که کتاب‌های تازه در ۱۴۰۵ می‌آیند و مردم منتظر هستند.</p>"),
        "en": ("Talks resume in Geneva", "<p>Delegations met on Monday in Geneva.</p>"),
    }
    for lang, (title, body) in texts.items():
        store.save_article(record(title=title, body=body, slug=f"s-{lang}"))
    return store


def test_words_inside_chinese_and_japanese_text_are_found(archive):
    assert found(archive, "奥运会") == ["东京奥运会今天开幕"]  # three characters, mid-run
    assert found(archive, "奥运") == ["东京奥运会今天开幕"]  # two characters: trigrams cannot
    assert found(archive, "开幕") == ["东京奥运会今天开幕"]  # at the end of a run
    assert found(archive, "運動") == []  # not there (and a different script form)
    assert found(archive, "会見") == ["東京で会議"]  # inside a kanji/kana run
    assert found(archive, "东京") == ["东京奥运会今天开幕"]  # not Japanese 東京 (another character)
    assert found(archive, "幕") == ["东京奥运会今天开幕"]  # one character, last in its run
    assert found(archive, "奥运会 开幕") == ["东京奥运会今天开幕"]  # every word required
    assert found(archive, "奥运 Geneva") == []


def test_persian_and_arabic_spellings_meet(archive):
    # Arabic kaf and yeh typed, Persian keheh and yeh stored, and the other way round.
    assert "کتاب فارسی" in found(archive, "كتاب")
    assert "الكتاب العربي" in found(archive, "الکتاب")
    assert found(archive, "وزير") == found(archive, "وزیر") != []
    # Harakat in the text (الكِتاب, قالَ) and in the query (كِتاب) do not matter; nor tatweel.
    assert "الكتاب العربي" in found(archive, "قال")
    assert "الكتاب العربي" in found(archive, "الكِتـاب")
    # Teh marbuta and heh; alef with hamza and bare alef.
    assert found(archive, "مكه") == ["الكتاب العربي"]
    assert found(archive, "ان") == found(archive, "إن")
    # Digits in any of the three sets.
    assert found(archive, "2026") == ["الكتاب العربي"] == found(archive, "۲۰۲۶")
    assert found(archive, "١٤٠٥") == ["کتاب فارسی"]
    # ZWNJ: "می‌آیند" typed with or without it.
    assert found(archive, "میآیند") == ["کتاب فارسی"] == found(archive, "می\u200cآیند")


def test_snippets_show_matches_and_english_is_unchanged(archive):
    [hit] = archive.search("geneva", 1, 10).hits
    assert "<mark>Geneva</mark>" in hit.snippet
    assert textnorm.index_text("Talks resume in Geneva") == "Talks resume in Geneva"


def test_an_existing_archive_is_reindexed_by_the_migration(tmp_path):
    """A database at schema 2 (the index as it was: no folding, no bigrams) is found in every
    script once migrated."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    migrate(conn, target=2)
    conn.execute(
        "INSERT INTO articles (guid, slug, title, summary, body, body_text, published, updated, status)"
        " VALUES ('g1', 's1', 'خبر', '', '', 'المدينة الكبيرة ومدرسة طوكيو东京奥运会开幕', ?, ?, 'published')",
        ("2026-11-01T00:00:00+00:00", "2026-11-01T00:00:00+00:00"),
    )
    conn.close()
    store = Store(str(path), clock=lambda: NOW)
    store.migrate()
    assert [h.article.slug for h in store.search("奥运", 1, 10).hits] == ["s1"]
    assert [h.article.slug for h in store.search("الکبیره", 1, 10).hits] == ["s1"]
    store.close()


def test_folding_rules():
    assert textnorm.fold("كتابي ١٢٣ ۴۵۶") == "کتابی 123 456"
    assert textnorm.fold("عَرَبِيّة") == "عربیه"
    assert textnorm.index_text("东京奥运") == " 东京 京奥 奥运 运 "
    assert textnorm.index_text("A東B") == "A 東 B"


def test_snippets_of_unspaced_text_read_as_written(archive):
    [hit] = archive.search("奥运会", 1, 10).hits
    assert "东京<mark>奥运会</mark>今天开幕" in hit.snippet
    [hit] = archive.search("会見", 1, 10).hits
    assert "記者<mark>会見</mark>を開いた" in hit.snippet


def test_a_foreign_writer_needs_nothing_of_ours_and_keeps_the_index_right(archive):
    """The sqlite3 shell (no Python functions registered) can still edit articles; an edited
    title is found by its new words and not by its old ones."""
    conn = sqlite3.connect(archive.path, isolation_level=None)
    conn.execute("UPDATE articles SET title = 'Summit in Lisbon' WHERE slug = 's-en'")
    conn.execute("UPDATE articles SET title = 'کتاب تازه' WHERE slug = 's-fa'")
    conn.close()
    assert found(archive, "lisbon") == ["Summit in Lisbon"] and found(archive, "geneva") == ["Summit in Lisbon"]
    assert found(archive, "resume") == []
    assert "کتاب تازه" in found(archive, "کتاب")  # still found by its folded body
