"""Everything done to text on its way in or out: XML-safe text, sanitised HTML, plain text,
slugs, and absolute URLs.

Every way in (API, import, demo) passes article fields through ``clean_text`` /
``clean_html`` before the store sees them, so no stored article can break a page or a feed.
"""

from __future__ import annotations

import html
import re
import unicodedata
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import nh3
from flask import current_app, has_app_context
from lxml import html as lxml_html

from . import limits

# XML 1.0 Char production: everything outside it (C0 controls other than tab/LF/CR, lone
# surrogates, U+FFFE, U+FFFF) makes a feed unparseable for every reader.
_XML_FORBIDDEN = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# C1 controls are legal XML but never meant in text; they come from mis-decoded cp1252.
_C1_CONTROLS = re.compile("[\u0080-\u009f]")

_HAS_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dfn", "div",
    "dl", "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "ins", "kbd", "li", "mark", "ol", "p", "picture", "pre", "q", "s", "samp", "small", "source",
    "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr",
    "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title", "hreflang"},
    "abbr": {"title"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "img": {"src", "srcset", "sizes", "alt", "title", "width", "height", "loading"},
    "source": {"srcset", "sizes", "media", "type"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
    "ol": {"start", "reversed"},
}
URL_SCHEMES = {"http", "https", "mailto"}
URL_ATTRIBUTES = (("a", "href"), ("img", "src"), ("blockquote", "cite"), ("q", "cite"))
SRCSET_ATTRIBUTES = (("img", "srcset"), ("source", "srcset"))


def xml_safe(text: str) -> str:
    """Drop every character that XML 1.0 forbids (and C1 controls); normalise newlines."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Vertical tab and form feed separate words; keep them apart when dropping them.
    text = text.replace("\x0b", " ").replace("\x0c", " ")
    text = _XML_FORBIDDEN.sub("", text)
    return _C1_CONTROLS.sub("", text)


def clean_text(value: object, *, single_line: bool = True) -> str:
    """A plain-text field (title, caption, name): XML-safe, NFC, whitespace folded."""
    text = unicodedata.normalize("NFC", xml_safe(str(value or "")))
    if single_line:
        text = " ".join(text.split())
    if _HAS_BIDI.search(text):
        text = balance_bidi(text)
    return text.strip()


def clean_html(value: object) -> str:
    """Article HTML through an allow-list: no scripts, handlers, styles or unsafe URLs.

    nh3 (ammonia) parses like a browser, so broken markup comes back balanced.
    """
    raw = xml_safe(str(value or ""))
    cleaned = nh3.clean(
        raw,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_filter_url_attribute,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return xml_safe(cleaned).strip()


def _safe_url(url: str) -> bool:
    """Relative, or one of URL_SCHEMES, as a browser would read it (controls and spaces ignored)."""
    text = re.sub(r"[\x00-\x20\x7f-\x9f]", "", html.unescape(url))
    scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):", text)
    return scheme is None or scheme.group(1).lower() in URL_SCHEMES


def _filter_url_attribute(tag: str, attribute: str, value: str) -> str | None:
    """nh3 checks the scheme of href and src only: srcset candidates and cite get the same
    rule here (a javascript: or data: URL is dropped)."""
    if attribute == "srcset":
        candidates = [c.strip() for c in value.split(",") if c.strip()]
        kept = [c for c in candidates if _safe_url(c.split()[0])]
        return ", ".join(kept) or None
    if attribute == "cite" and not _safe_url(value):
        return None
    return value


def html_to_text(fragment: str) -> str:
    """The visible text of an HTML fragment (for search, summaries and plain-text feeds)."""
    if not fragment or not fragment.strip():
        return ""
    try:
        tree = lxml_html.fragment_fromstring(fragment, create_parent="div")
    except Exception:  # lxml refuses some inputs outright; fall back to stripping tags
        return clean_text(re.sub(r"<[^>]*>", " ", html.unescape(fragment)))
    for br in tree.iter("br"):
        br.tail = "\n" + (br.tail or "")
    blocks = []
    for el in tree.iter():
        if el.tag in {"p", "li", "h2", "h3", "h4", "h5", "h6", "blockquote", "figcaption", "pre"}:
            el.tail = "\n\n" + (el.tail or "")
    text = tree.text_content()
    for block in re.split(r"\n\s*\n", text):
        block = " ".join(block.split())
        if block:
            blocks.append(block)
    return xml_safe("\n\n".join(blocks))


def summarize(text: str, limit: int = 280) -> str:
    """A summary of at most ``limit`` characters, cut at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:-")
    return cut + "…"


# ------------------------------------------------------------------------------ names and slugs

# Invisible characters that carry no meaning in a name or slug: zero-width space, word joiner,
# BOM / zero-width no-break space, soft hyphen.  ZWNJ (U+200C) and ZWJ (U+200D) are different: in
# Persian "کتاب‌ها" the ZWNJ is spelling (it stops the letters joining), so names keep them.
_INVISIBLE = "\u200b\u2060\ufeff\u00ad"
_JOINERS = "\u200c\u200d"
# Bidi controls: marks (LRM, RLM, ALM), embeddings and overrides (LRE RLE PDF LRO RLO), isolates
# (LRI RLI FSI PDI).  Pages isolate every name with <bdi>, so a name needs none of them.
_BIDI_MARKS = "\u200e\u200f\u061c"
_BIDI_OPEN = {"\u202a": "\u202c", "\u202b": "\u202c", "\u202d": "\u202c", "\u202e": "\u202c",
              "\u2066": "\u2069", "\u2067": "\u2069", "\u2068": "\u2069"}  # fmt: skip
_BIDI_CLOSE = {"\u202c", "\u2069"}
_BIDI_ALL = _BIDI_MARKS + "".join(_BIDI_OPEN) + "".join(_BIDI_CLOSE)
_STRIP_NAME = str.maketrans(dict.fromkeys(_INVISIBLE + _BIDI_ALL))
_JOINER_RUNS = re.compile(f"[{_JOINERS}]+")


def balance_bidi(text: str) -> str:
    """Drop closers that close nothing and close what is left open, so an override or isolate
    inside a title can never spill over the rest of a page or a reader's list."""
    out: list[str] = []
    stack: list[str] = []
    for char in text:
        if char in _BIDI_OPEN:
            stack.append(_BIDI_OPEN[char])
        elif char in _BIDI_CLOSE:
            if not stack or stack[-1] != char:
                if char not in stack:
                    continue  # closes nothing: drop it
                while stack[-1] != char:  # a PDI closes the embeddings opened inside its isolate
                    out.append(stack.pop())
            stack.pop()
        out.append(char)
    out.extend(reversed(stack))
    return "".join(out)


def clean_name(value: object) -> str:
    """An author, tag or category name: ``clean_text`` without invisible characters.

    Zero-width spaces, BOMs, soft hyphens and every bidi control go (the page isolates names);
    ZWNJ/ZWJ stay inside words, where they are spelling, but not at either end or doubled.
    """
    text = clean_text(str(value or "").translate(_STRIP_NAME))
    text = _JOINER_RUNS.sub(lambda m: m.group(0)[0], text)
    words = [w.strip(_JOINERS) for w in text.split(" ")]
    return " ".join(w for w in words if w)


SLUG_STYLES = ("unicode", "ascii")
# A slug is at most 80 characters and 240 bytes of UTF-8 (720 characters percent-encoded, within
# what browsers, proxies and WordPress's 200-byte-per-byte-escaped column accept in practice).
SLUG_MAX_CHARS = limits.MAX_SLUG
SLUG_MAX_BYTES = 240
# Everything but letters, digits and combining marks folds to '-': \W finds the candidates fast
# (marks are among them: Python's \w has no Mn/Mc), then marks are kept by category.
_NON_WORD = re.compile(r"[\W_]+")
_SLUG_DROP = str.maketrans(dict.fromkeys(_INVISIBLE + _BIDI_ALL + "\u0640"))  # tatweel only stretches a line


def _fold(match: re.Match[str]) -> str:
    run = match.group(0)
    if run.isascii():  # spaces and punctuation: the usual case
        return "-"
    return "".join(c if unicodedata.category(c)[0] == "M" else "-" for c in run)


def _slug_style() -> str:
    return current_app.config.get("SLUG_STYLE", "unicode") if has_app_context() else "unicode"


def slugify(value: str, max_length: int = SLUG_MAX_CHARS, *, style: str | None = None) -> str:
    """A URL slug, as WordPress makes them: NFC, lower-cased, runs of anything but letters,
    marks and digits folded to one '-', at most ``max_length`` characters.

    ``style`` "unicode" (the default, or the app's SLUG_STYLE) keeps every script: "مریم احمدی"
    gives "مریم-احمدی", percent-encoded only on the wire (``models.quote_slug``). "ascii" transliterates
    with anyascii: "mrym-hmdy", "novosti", "dongjing".  A ZWNJ separates word parts in a slug too.
    """
    return _slugify(str(value), max_length, style or _slug_style())


@lru_cache(maxsize=8192)  # names of terms come back again and again (an import, the demo)
def _slugify(value: str, max_length: int, style: str) -> str:
    # A ZWNJ parts two pieces of a word ("کتاب‌ها"): in a slug, where it would be invisible, a hyphen.
    text = unicodedata.normalize("NFC", xml_safe(str(value))).replace("\u200c", " ")
    if style == "ascii":
        from anyascii import anyascii

        text = anyascii(text)
    text = _NON_WORD.sub(_fold, text.translate(_SLUG_DROP).lower())
    text = re.sub(r"-{2,}", "-", text).strip("-")
    text = unicodedata.normalize("NFC", text)
    if style == "ascii":
        text = re.sub(r"[^a-z0-9-]+", "", text)
    return _cut_slug(text, max_length)


def _cut_slug(text: str, max_length: int) -> str:
    """At most ``max_length`` characters and SLUG_MAX_BYTES bytes, never parting a letter from
    its combining marks, preferably at a hyphen."""
    if len(text) <= max_length and len(text.encode()) <= SLUG_MAX_BYTES:
        return text
    cut = text[:max_length]
    while len(cut.encode()) > SLUG_MAX_BYTES:
        cut = cut[:-1]
    while cut and len(cut) < len(text) and unicodedata.category(text[len(cut)]).startswith("M"):
        cut = cut[:-1]
    if "-" in cut[len(cut) // 2 :] and text[len(cut) : len(cut) + 1] not in ("-", ""):
        cut = cut.rsplit("-", 1)[0]
    return cut.strip("-")


def is_slug(value: object) -> bool:
    """A slug as ``slugify`` would keep it: its own slug (in either style), not longer than the
    200 characters an imported one may have."""
    return isinstance(value, str) and 0 < len(value) <= 200 and slugify(value, 200, style="unicode") == value


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"http", "https"} and bool(parts.netloc)


def _absolute_srcset(value: str, base: str) -> str:
    out = []
    for candidate in value.split(","):
        bits = candidate.strip().split()
        if bits:
            bits[0] = urljoin(base, bits[0])
            out.append(" ".join(bits))
    return ", ".join(out)


def absolutize_html(fragment: str, base: str) -> str:
    """Resolve every relative ``href``, ``src``, ``cite`` and ``srcset`` against ``base``.

    Readers and e-mail digests show content outside our site, where relative URLs break.
    """
    if not fragment or ("=" not in fragment):
        return fragment
    tree = lxml_html.fragment_fromstring(fragment, create_parent="div")
    changed = False
    for tag, attr in URL_ATTRIBUTES:
        for el in tree.iter(tag):
            value = el.get(attr)
            if value is not None and not urlsplit(value).scheme:
                el.set(attr, urljoin(base, value))
                changed = True
    for tag, attr in SRCSET_ATTRIBUTES:
        for el in tree.iter(tag):
            value = el.get(attr)
            if value:
                el.set(attr, _absolute_srcset(value, base))
                changed = True
    if not changed:
        return fragment
    inner = (tree.text and html.escape(tree.text, quote=False)) or ""
    inner += "".join(lxml_html.tostring(child, encoding="unicode") for child in tree)
    return inner
