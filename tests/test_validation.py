"""The input gate: every bad field named at once, times never guessed, every limit (written
once in ``limits``) enforced by the gate exactly as the OpenAPI document states it."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from syndicate import limits
from syndicate.validation import INPUT, Invalid, Text, article_record, input_schema

from .store_support import NOW, record


def test_naive_times_are_rejected_unless_configured():
    with pytest.raises(Invalid) as excinfo:
        record(published="2026-11-20T09:30:00")
    assert "published" in excinfo.value.errors and "time zone" in excinfo.value.errors["published"]
    ok = article_record({"title": "x", "published": "2026-11-20T09:30:00"}, now=NOW, naive_tz=ZoneInfo("Europe/Paris"))
    assert ok.published.utcoffset() == timedelta(hours=1)


def test_validation_names_every_bad_field():
    with pytest.raises(Invalid) as excinfo:
        article_record(
            {"title": "", "image_url": "javascript:alert(1)", "status": "gone", "tags": 5, "bogus": 1},
            now=NOW,
        )
    assert set(excinfo.value.errors) == {"title", "image_url", "status", "tags", "bogus"}


@pytest.mark.parametrize("length", [-1, 2**53, 2**63, 2**80])
def test_an_image_length_outside_its_range_is_named(length):
    with pytest.raises(Invalid) as excinfo:
        record(image_length=length)
    assert set(excinfo.value.errors) == {"image_length"}


def test_the_largest_image_length_is_accepted():
    assert record(image_length=limits.MAX_IMAGE_LENGTH).image_length == 2**53 - 1
    assert record(image_length=0).image_length == 0


def test_the_record_is_typed_and_frozen():
    clean = record(tags="Diplomacy, Diplomacy ,Peace")
    assert clean.tags == (("diplomacy", "Diplomacy"), ("peace", "Peace"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        clean.title = "changed"  # type: ignore[misc]


def test_the_openapi_input_schema_is_made_from_the_gate():
    schema = input_schema(partial=False)
    assert set(schema["properties"]) == set(INPUT) and schema["required"] == ["title"]
    assert schema["properties"]["slug"]["pattern"] == limits.SLUG_PATTERN
    assert schema["properties"]["image_length"]["maximum"] == limits.MAX_IMAGE_LENGTH
    assert "required" not in input_schema(partial=True)


@pytest.mark.parametrize("name", [name for name, spec in INPUT.items() if isinstance(spec, Text)])
def test_each_text_limit_is_where_the_document_says(name):
    longest = input_schema(partial=False)["properties"][name]["maxLength"]
    assert getattr(record(**{name: "a" * longest}), name) == "a" * longest
    with pytest.raises(Invalid) as excinfo:
        record(**{name: "a" * (longest + 1)})
    assert set(excinfo.value.errors) == {name}
