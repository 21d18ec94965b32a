"""The demo archive: a deterministic, realistic world-news archive for trying Syndicate.

Same seed and same ``until`` date, same archive: every choice comes from one seeded RNG, and
dates count back from ``until``. Lead images are small SVGs, written to the instance's media
folder (``write_images``) and served from ``/static/demo/``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from . import demo_words
from .content import slugify
from .models import quote_slug

CATEGORIES = ["World", "Middle East", "Politics", "Economy", "Europe", "Sports", "Culture", "Science"]
AUTHORS = [
    "Amira Haddad", "Daniel Okafor", "Sofia Marchetti", "Reza Tehrani", "Hannah Fischer",
    "Kenji Watanabe", "Lucía Fernández", "Oleksandr Kovalenko", "Priya Raman", "Jonas Lindqvist",
    "Fatima Zahra Benali", "Mateus Oliveira", "Chloé Dubois", "Ahmet Yılmaz", "Grace Mwangi",
    "Nikos Papadopoulos", "Leila Karimi", "Tomasz Nowak", "Mei Lin Chen", "Samuel Adeyemi",
]  # fmt: skip
TAGS = [
    "Diplomacy", "Elections", "Climate", "Energy", "Oil", "Trade", "Inflation", "Central Banks",
    "Football", "Olympics", "Tennis", "Film", "Music", "Literature", "Space", "Health",
    "Artificial Intelligence", "Migration", "Human Rights", "United Nations", "NATO", "European Union",
    "Gaza", "Iran", "Syria", "Ukraine", "China", "India", "Africa", "Latin America", "Sanctions",
    "Technology", "Education", "Archaeology", "Earthquake", "Agriculture", "Tourism", "Shipping",
    "Cybersecurity", "Water",
]  # fmt: skip
PLACES = [
    "Tehran", "Beirut", "Cairo", "Ankara", "Brussels", "Berlin", "Paris", "Madrid", "Rome", "Geneva",
    "Nairobi", "Lagos", "New Delhi", "Beijing", "Tokyo", "Brasília", "Buenos Aires", "Moscow", "Kyiv",
    "Doha", "Riyadh", "Baghdad", "Damascus", "Amman", "Islamabad", "Jakarta", "Warsaw", "Athens",
]  # fmt: skip
ACTORS = [
    "the foreign minister", "the prime minister", "the central bank", "the finance ministry",
    "the opposition leader", "the national football team", "a team of researchers", "the parliament",
    "the health ministry", "the energy regulator", "the trade union federation", "the UN envoy",
    "the national museum", "the space agency", "the coastguard", "the election commission",
]  # fmt: skip
VERBS = [
    "calls for", "warns of", "announces", "rejects", "welcomes", "signs", "unveils", "defends",
    "launches", "postpones", "questions", "backs", "criticises", "prepares",
]  # fmt: skip
OBJECTS = [
    "new talks on regional security", "a plan to cut fuel prices", "a record harvest", "stricter border rules",
    "a ceasefire proposal", "a fresh round of sanctions", "a deal on grain exports", "an overhaul of the tax code",
    "a joint naval exercise", "the findings of a climate report", "a bid to host the games",
    "an investigation into the blast", "a programme to rebuild schools", "a new satellite launch",
    "higher interest rates", "a cultural exchange festival", "a vaccination campaign", "a water-sharing accord",
]  # fmt: skip
CONTEXTS = [
    "amid rising tensions", "after weeks of protests", "ahead of the summit", "despite objections",
    "as talks resume", "following the election", "after a deadly incident", "as prices climb",
    "in a surprise move", "after years of delay",
]  # fmt: skip
SENTENCES = [
    "{actor_c} said on {day} that {place} would not accept any outcome imposed from outside.",
    "Officials in {place} confirmed that at least {n} people had been affected, with figures expected to rise.",
    "The announcement follows months of negotiations between {place} and {place2}.",
    "Analysts said the decision could reshape relations across the region for years to come.",
    "“We are ready to work with every partner who respects our sovereignty,” {actor} told reporters.",
    "Markets reacted cautiously, with the local currency slipping {n2} percent in early trading.",
    "Critics argue that the measures do too little, too late, for the families most affected.",
    "In {place}, crowds gathered in the main square as the news spread on {day} evening.",
    "The proposal will be debated in parliament next week, where its passage is far from certain.",
    "A spokesperson for {actor} said more details would be published in the coming days.",
    "Independent observers have called for a transparent inquiry into what happened.",
    "Residents of {place} described long queues at petrol stations and shortages of basic goods.",
    "The agreement, signed in {place2}, runs for five years and can be extended by both sides.",
    "Scientists involved in the project said the results exceeded their expectations.",
    "Fans in {place} celebrated late into the night after the final whistle.",
    "The exhibition, which opens on {day}, brings together more than {n} works from private collections.",
    "Humanitarian agencies warned that access to the area remains severely limited.",
    "Both delegations described the talks in {place2} as frank and constructive.",
]  # fmt: skip
CAPTIONS = ["People gather", "A view of the city", "Officials meet", "Crowds wait", "The scene"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
EN = {
    "categories": CATEGORIES, "authors": AUTHORS, "tags": TAGS, "places": PLACES, "actors": ACTORS,
    "verbs": VERBS, "objects": OBJECTS, "contexts": CONTEXTS, "sentences": SENTENCES, "captions": CAPTIONS,
    "days": DAYS, "title": "{place}: {actor} {verb} {object} {context}", "caption": "{caption} in {place}.",
    "more": ' More in our <a href="{href}">{name}</a> coverage.', "next": "What happens next",
}  # fmt: skip
# Every language has lists of the same lengths, so a seed gives the same shape in each.
LANGUAGES: dict[str, dict[str, Any]] = {"en": EN, "fa": demo_words.FA, "ar": demo_words.AR}
IMAGE_COLOURS = ["#8a1c1c", "#1c4d8a", "#2f6b3a", "#6b4a1c", "#4a1c6b", "#1c6b66", "#6b1c4f", "#3a3a3a"]


def _uuid(rng: random.Random) -> str:
    return f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"


def _sentence(rng: random.Random, words: dict[str, Any] = EN) -> str:
    actor = rng.choice(words["actors"])
    text = rng.choice(words["sentences"]).format(
        actor=actor, actor_c=actor[0].upper() + actor[1:], place=rng.choice(words["places"]),
        place2=rng.choice(words["places"]), day=rng.choice(words["days"]), n=rng.randint(3, 400),
        n2=rng.randint(1, 9),
    )  # fmt: skip
    return text.translate(words["digits"]) if "digits" in words else text


def _body(rng: random.Random, tags: list[str], words: dict[str, Any] = EN) -> str:
    paragraphs = []
    for i in range(rng.randint(4, 8)):
        text = " ".join(_sentence(rng, words) for _ in range(rng.randint(1, 3)))
        if i == 1 and tags:
            # A relative link, as editors write them: feeds must make it absolute.
            slug = slugify(tags[0])  # as the tag's own slug is made (SLUG_STYLE)
            text += words["more"].format(href=f"/tag/{quote_slug(slug)}/", name=slug.replace("-", " "))
        paragraphs.append(f"<p>{text}</p>")
    if rng.random() < 0.3:
        quote = _sentence(rng, words)
        paragraphs.insert(2, f"<blockquote><p>{quote}</p></blockquote>")
    if rng.random() < 0.2:
        paragraphs.append(f"<h2>{words['next']}</h2>")
        items = "".join(f"<li>{_sentence(rng, words)}</li>" for _ in range(3))
        paragraphs.append(f"<ul>{items}</ul>")
    return "\n".join(paragraphs)


def image_files() -> dict[str, bytes]:
    """The demo lead images: one simple SVG per colour, named lead-N.svg."""
    files = {}
    for n, colour in enumerate(IMAGE_COLOURS):
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="675" viewBox="0 0 1200 675">'
            f'<rect width="1200" height="675" fill="{colour}"/>'
            '<circle cx="960" cy="160" r="120" fill="#ffffff" fill-opacity="0.15"/>'
            '<path d="M0 520 L300 380 L560 500 L860 330 L1200 470 L1200 675 L0 675 Z" fill="#000" fill-opacity="0.25"/>'
            "</svg>\n"
        )
        files[f"lead-{n}.svg"] = svg.encode()
    return files


def write_images(folder: Path) -> dict[str, int]:
    folder.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for name, data in image_files().items():
        path = folder / name
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
        sizes[name] = len(data)
    return sizes


def articles(count: int, seed: int, until: datetime, site_url: str, language: str = "en") -> Iterator[dict[str, Any]]:
    """``count`` article inputs, oldest first, the newest published just before ``until``, in
    ``language`` (a key of LANGUAGES): the same seed gives the same dates, statuses and shape in each.

    About 1% are drafts, the last 0.5% (at least 3) are scheduled one to fourteen days after ``until``; a fifth were
    updated after publication.
    """
    rng = random.Random(seed)
    sizes = {name: len(data) for name, data in image_files().items()}
    # About eight articles a day; denser for very large archives, which would otherwise start
    # before 1970, the earliest publication year the input gate accepts.
    span = timedelta(days=max(30, min(count // 8, (until.replace(tzinfo=None) - datetime(1971, 1, 1)).days)))
    step = span / max(count, 1)
    seen_slugs: set[str] = set()
    scheduled = min(count // 2, max(3, count // 200))
    words = LANGUAGES[language]
    for i in range(count):
        place = rng.choice(words["places"])
        actor, verb, obj, context = (rng.choice(words[k]) for k in ("actors", "verbs", "objects", "contexts"))
        title = words["title"].format(place=place, actor=actor, verb=verb, object=obj, context=context)
        title = title[0].upper() + title[1:]
        category = words["categories"][rng.randrange(len(words["categories"]))]
        tags = rng.sample(words["tags"], rng.randint(1, 4))
        published = until - span + step * i + timedelta(seconds=rng.randint(0, 600))
        status = "published"
        roll = rng.random()
        if i >= count - scheduled:
            # Scheduled from the day after ``until``: still in the future on the day it is generated.
            published = until + timedelta(days=1, hours=rng.randint(0, 24 * 13))
        elif roll < 0.01:
            status = "draft"
        updated = published
        if rng.random() < 0.2:
            # Corrections come later, but never after "today" for articles already out.
            updated = min(published + timedelta(minutes=rng.randint(5, 60 * 48)), max(until, published))
        image = f"lead-{rng.randrange(len(IMAGE_COLOURS))}.svg"
        slug = slugify(" ".join(title.split()[:9]), style="unicode")
        if slug in seen_slugs:
            slug = f"{slug}-{i}"
        seen_slugs.add(slug)
        guid = _uuid(rng)
        body = _body(rng, tags, words)
        summary = _sentence(rng, words)
        yield {
            "guid": guid,
            "slug": slug,
            "title": title,
            "summary": summary,
            "body": body,
            "image_url": f"{site_url}/static/demo/{image}",
            "image_caption": words["caption"].format(caption=rng.choice(words["captions"]), place=place),
            "image_type": "image/svg+xml",
            "image_length": sizes[image],
            "author": rng.choice(words["authors"]),
            "category": category,
            "tags": tags,
            "published": published.replace(microsecond=0).isoformat(),
            "updated": updated.replace(microsecond=0).isoformat(),
            "status": status,
        }
