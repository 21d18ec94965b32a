"""Text as the search index sees it: one folding for indexed text and for queries alike.

- Persian and Arabic spellings meet: Arabic yeh and alef maksura become Persian yeh, Arabic kaf
  becomes keheh, teh marbuta becomes heh, hamza-carrying alefs become a bare alef; tatweel,
  harakat (diacritics), ZWNJ/ZWJ and direction marks disappear; Persian and Arabic-Indic digits
  become 0-9. Other scripts are only NFKC-normalised (presentation forms, full-width letters).
- Scripts written without spaces (Chinese, Japanese, Korean Hangul, Thai, Lao, Khmer, Myanmar)
  are cut into overlapping pairs of characters (bigrams), with the run's last character alone at
  its end: a word of any length is then a phrase of adjacent bigrams, a two-character word is one
  token, and a one-character word is a prefix ("奥*"). One index serves every script (FTS5's
  trigram tokenizer would need a second index and cannot find two-character words).

ASCII text is returned unchanged, so an English archive indexes and ranks exactly as before.
"""

from __future__ import annotations

import re
import unicodedata

_FOLD = {
    "\u064a": "\u06cc",  # Arabic yeh -> Persian yeh
    "\u0649": "\u06cc",  # alef maksura -> Persian yeh
    "\u0643": "\u06a9",  # Arabic kaf -> keheh
    "\u0629": "\u0647",  # teh marbuta -> heh
    "\u06c0": "\u0647",  # heh with yeh above -> heh
    "\u0623": "\u0627",  # alef with hamza above -> alef
    "\u0625": "\u0627",  # alef with hamza below -> alef
    "\u0622": "\u0627",  # alef with madda -> alef
    "\u0671": "\u0627",  # alef wasla -> alef
}
_FOLD.update({chr(0x0660 + d): str(d) for d in range(10)})  # Arabic-Indic digits
_FOLD.update({chr(0x06F0 + d): str(d) for d in range(10)})  # Persian digits
_DROP = [0x0640, 0x0670, 0x200C, 0x200D, 0x200E, 0x200F, 0x061C, 0x00AD]  # tatweel, ..., soft hyphen
_DROP += list(range(0x064B, 0x0660))  # harakat
_DROP += list(range(0x06D6, 0x06DD)) + list(range(0x06DF, 0x06E9)) + list(range(0x06EA, 0x06EE))  # Quranic marks
TABLE = str.maketrans({**_FOLD, **{chr(c): None for c in _DROP}})

# Runs of characters from scripts written without spaces between words.
UNSPACED = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff\u31f0-\u31ff"  # Hiragana, Katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han
    "\uac00-\ud7af"  # Hangul syllables
    "\U00020000-\U0003134f"  # Han extensions
)
UNSPACED_RUN = re.compile(f"[{UNSPACED}]+")


def fold(text: str) -> str:
    """``text`` with the letter variants above folded (no bigrams): what a query word becomes."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text).translate(TABLE)


def bigrams(run: str) -> list[str]:
    """The tokens an unspaced run is indexed as: its overlapping pairs, then its last character."""
    return [run[i : i + 2] for i in range(len(run) - 1)] + [run[-1]]


def _spaced(match: re.Match[str]) -> str:
    return " " + " ".join(bigrams(match.group())) + " "


def index_text(text: str | None) -> str | None:
    """``text`` as the full-text index receives it (registered in SQLite as ``syn_fold``)."""
    if text is None or text.isascii():
        return text
    return UNSPACED_RUN.sub(_spaced, fold(text))


def folded_or_none(text: str) -> str | None:
    """What the store keeps beside ``text`` for the index: its folded form, or None when
    folding changes nothing (the index then reads ``text`` itself)."""
    folded = index_text(text)
    return None if folded == text else folded


def is_word_char(char: str) -> bool:
    """What the index's tokenizer keeps in a token (unicode61 with categories L* N* Co M*)."""
    return unicodedata.category(char)[0] in "LNM" or unicodedata.category(char) == "Co"


_TOKEN = f"\x01?[{UNSPACED}]{{1,2}}\x02?"
_BIGRAM_RUN = re.compile(f" ?({_TOKEN}(?: {_TOKEN})*) ?")


def _joined(match: re.Match[str]) -> str:
    chars: list[list] = []  # [character, highlighted]
    inside = False  # a highlight may span several tokens (a phrase of bigrams)
    for token in match.group(1).split(" "):
        core = token.strip("\x01\x02")
        inside = inside or token.startswith("\x01")
        marked = inside
        inside = inside and not token.endswith("\x02")
        if chars and core[0] == chars[-1][0]:  # the next pair of the same run, or its closing single
            chars[-1][1] = chars[-1][1] or marked
            chars.extend([c, marked] for c in core[1:])
        else:  # the first pair of a run
            chars.extend([c, marked] for c in core)
    return "".join(f"\x01{c}\x02" if marked else c for c, marked in chars).replace("\x02\x01", "")


def unindexed(snippet: str) -> str:
    """A snippet of indexed text (highlights marked with \\x01 and \\x02) with unspaced runs
    joined back from their bigrams, as the reader wrote them."""
    return _BIGRAM_RUN.sub(_joined, snippet) if UNSPACED_RUN.search(snippet) else snippet
