"""The site's language: gettext catalogs (Flask-Babel), CLDR dates and numbers (Babel), and the
text direction, all from ``SITE_LANGUAGE``.

Catalogs live in ``syndicate/translations/<lang>/LC_MESSAGES/messages.po`` with their compiled
``.mo`` beside them (committed; ``tests/test_i18n.py`` fails when a ``.mo`` is older than its
``.po``). A language without a catalog still gets its CLDR dates, numbers and direction, with
English words. Workflow to add or update a language: docs/translations.md.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton, format_time
from babel.numbers import format_decimal
from babel.support import Translations
from flask import Flask, current_app
from flask_babel import Babel

TRANSLATIONS = Path(__file__).resolve().parent / "translations"
# Babel knows each locale's default numbering system (CLDR: Persian writes ۱۲۳, Egyptian Arabic
# ١٢٣) and its separators, but formats every digit as 0-9; these are the zeros of the decimal
# systems CLDR locales default to, each system being ten consecutive code points.
_ZEROS = {"arab": 0x660, "arabext": 0x6F0, "beng": 0x9E6, "deva": 0x966, "mymr": 0x1040, "tibt": 0xF20}


@lru_cache(maxsize=16)
def _digit_table(tag: str) -> dict[int, str] | None:
    zero = _ZEROS.get(locale(tag).default_numbering_system)
    return None if zero is None else {ord("0") + i: chr(zero + i) for i in range(10)}


def _digits(text: str) -> str:
    table = _digit_table(current_app.config["SITE_LANGUAGE"])
    return text.translate(table) if table else text


@lru_cache(maxsize=16)
def locale(tag: str) -> Locale:
    """The CLDR locale of a BCP 47 tag such as 'fa', 'pt-BR' or 'zh-Hant'."""
    return Locale.parse(tag, sep="-") if "-" in tag else Locale.parse(tag)


def check_language(tag: str) -> str:
    """``tag`` stripped, if CLDR knows it; otherwise a ValueError naming the setting."""
    tag = tag.strip()
    try:
        locale(tag)
    except (UnknownLocaleError, ValueError):
        raise ValueError(f"SITE_LANGUAGE must be a language tag such as en, fa, ar or pt-BR, got {tag!r}") from None
    return tag


def direction(tag: str) -> str:
    """'rtl' for right-to-left languages (fa, ar, he, ur...), as CLDR says; else 'ltr'."""
    return "rtl" if locale(tag).character_order == "right-to-left" else "ltr"


def _site_locale() -> Locale:
    return locale(current_app.config["SITE_LANGUAGE"])


def _local(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


def long_date(moment: datetime | date) -> str:
    """'March 5, 2026', '۵ مارس ۲۰۲۶', '5 марта 2026 г.' in the site's time zone and language."""
    day = _local(moment) if isinstance(moment, datetime) else moment
    return _digits(format_date(day, "long", locale=_site_locale()))


def full_date(moment: datetime) -> str:
    """'Wednesday, November 25, 2026' (the header's today line)."""
    return _digits(format_date(_local(moment), "full", locale=_site_locale()))


def long_datetime(moment: datetime) -> str:
    """'March 5, 2026, 14:05 CET': the locale's own way of joining a long date and a time."""
    local = _local(moment)
    loc = _site_locale()
    pattern = str(loc.datetime_formats.get("medium", "{1}, {0}")).replace("'", "")
    time = format_time(local, "short", locale=loc)
    text = pattern.replace("{1}", format_date(local, "long", locale=loc)).replace("{0}", time)
    return _digits(f"{text} {local.tzname()}")


def month_year(year: int, month: int) -> str:
    """'March 2026', 'مارس ۲۰۲۶'."""
    return _digits(format_skeleton("yMMMM", date(year, month, 1), locale=_site_locale()))


def year_name(year: int) -> str:
    """'2026', '۲۰۲۶' (a year, so never '2,026')."""
    return _digits(format_skeleton("y", date(year, 1, 1), locale=_site_locale()))


def month_name(month: int) -> str:
    """The stand-alone month name: 'March', 'مارس', 'март'."""
    return _site_locale().months["stand-alone"]["wide"][month]


def number(value: int) -> str:
    """12,345 / ۱۲٬۳۴۵ / 12 345, as the site's language writes numbers."""
    return _number(current_app.config["SITE_LANGUAGE"], value)


@lru_cache(maxsize=4096)
def _number(tag: str, value: int) -> str:
    # Memoised: listings print the same few page numbers and counts on every render.
    text = format_decimal(value, locale=locale(tag), numbering_system="default")
    table = _digit_table(tag)
    return text.translate(table) if table else text


def init_app(app: Flask) -> None:
    """Flask-Babel with the site's one language and time zone; filters and globals for templates."""
    Babel(
        app,
        locale_selector=lambda: current_app.config["SITE_LANGUAGE"].replace("-", "_"),
        timezone_selector=lambda: current_app.config["TIMEZONE"],
        default_translation_directories=str(TRANSLATIONS),
    )
    # One site, one language: templates get that catalog once, rather than Flask-Babel's lookup
    # of the request's locale at every string (a quarter of a listing's render time).
    translations = Translations.load(str(TRANSLATIONS), [app.config["SITE_LANGUAGE"].replace("-", "_")])
    app.jinja_env.install_gettext_translations(translations, newstyle=True)
    app.jinja_env.filters.update(long_date=long_date, long_datetime=long_datetime, number=number, direction=direction)
    app.jinja_env.globals.update(text_direction=lambda: direction(current_app.config["SITE_LANGUAGE"]))
