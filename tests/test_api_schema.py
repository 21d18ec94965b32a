"""schemathesis against the real WSGI app: generated requests (valid and invalid) for every
operation in /api/v1/openapi.json; no response may be a 5xx, and every response must match
the document (status code, content type, headers, body schema)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks as st_checks
from schemathesis.generation.modes import GenerationMode

from syndicate import validation
from syndicate.db import get_store
from syndicate.openapi import document

from .api_support import api_app, auth

CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_headers_conformance,
    st_checks.response_schema_conformance,
]


BY_REF = ["getArticle", "replaceArticle", "updateArticle", "deleteArticle"]
OPERATIONS = [
    "listArticles",
    "createArticle",
    "getArticle",
    "replaceArticle",
    "updateArticle",
    "deleteArticle",
    "openapi",
    "index",
    "feedStats",
    "partnerUsage",
]
TERM_OPERATIONS = {
    kind: [f"list{kind}s", f"create{kind}", f"get{kind}", f"update{kind}", f"delete{kind}"]
    for kind in ("Category", "Tag", "Author")
}
TERM_OPERATIONS["Category"][0] = "listCategories"
OPERATIONS += [op for ops in TERM_OPERATIONS.values() for op in ops]
# A stored term for each by-slug operation to aim at (as "2" is for articles).
TERM_SLUGS = {"Category": "world", "Tag": "seed", "Author": "ann"}


@pytest.fixture
def api_schema(tmp_path):
    app = api_app(tmp_path / "schema.db")
    client = app.test_client()
    # Something to find: the document's examples name article 1 and this guid.
    for n, guid in enumerate(["urn:uuid:6f1c1a4e-8d2c-4b7b-9a55-0c2f1e9d7a11", None, None]):
        body = {"title": f"Seed {n}", "category": "world", "tags": ["seed"], **({"guid": guid} if guid else {})}
        body["author"] = "Ann"
        assert client.post("/api/v1/articles", json=body, headers=auth()).status_code == 201
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


# (schemathesis' own pytest plugin, schema.parametrize, does not run under pytest 9: we drive
# hypothesis with its strategies directly, one test per operation and generation mode.)
@pytest.mark.slow
@pytest.mark.parametrize(
    "operation_id, mode, ref",
    [(op, GenerationMode.POSITIVE, None) for op in OPERATIONS]
    # Generated refs rarely name an article: also aim every by-ref operation at a stored one.
    + [(op, GenerationMode.POSITIVE, "2") for op in BY_REF]
    + [(op, GenerationMode.NEGATIVE, "2") for op in ("replaceArticle", "updateArticle")]
    # Schema-violating input exists only where there is a body or a constrained parameter.
    + [
        (op, GenerationMode.NEGATIVE, None)
        for op in ("listArticles", "createArticle", "replaceArticle", "updateArticle", "feedStats", "partnerUsage")
    ]
    # Terms: every operation as generated, the by-slug ones aimed at a stored term too, and
    # schema-violating bodies for creates and changes.
    + [(op, GenerationMode.POSITIVE, None) for k, ops in TERM_OPERATIONS.items() for op in ops[:2]]
    + [(op, GenerationMode.POSITIVE, None) for op in TERM_OPERATIONS["Tag"][2:]]  # generated slugs
    + [(op, GenerationMode.POSITIVE, TERM_SLUGS[k]) for k, ops in TERM_OPERATIONS.items() for op in ops[2:]]
    + [(op, GenerationMode.NEGATIVE, None) for ops in TERM_OPERATIONS.values() for op in (ops[1], ops[3])],
)
def test_api_conforms_to_its_openapi_document(api_schema, operation_id, mode, ref):
    operation = api_schema.find_operation_by_id(operation_id)
    by_slug = any(operation_id in ops[2:] for ops in TERM_OPERATIONS.values())
    fixed = ({"slug": ref} if by_slug else {"ref": ref}) if ref else None

    @given(case=operation.as_strategy(generation_mode=mode, headers=auth(), path_parameters=fixed))
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def check(case):
        response = case.call_and_validate(checks=CHECKS)
        assert "Traceback" not in response.text

    check()


def test_the_document_describes_every_api_route(tmp_path):
    """Every /api/v1 route and method of the app is in the document, and nothing else is."""
    app = api_app(tmp_path / "routes.db")
    with app.app_context():
        doc = document(app, get_store())
    documented = {
        (path.replace("{ref}", "<path:ref>").replace("{slug}", "<slug>"), method.upper())
        for path, item in doc["paths"].items()
        for method in item
        if method != "parameters"
    }
    served = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == served
    assert sorted(
        op["operationId"] for item in doc["paths"].values() for k, op in item.items() if k != "parameters"
    ) == sorted(OPERATIONS)
    assert set(doc["components"]["schemas"]["ArticleInput"]["properties"]) == validation.FIELDS


def test_the_document_lists_the_categories_an_article_may_name(tmp_path):
    app = api_app(tmp_path / "cats.db")
    doc = app.test_client().get("/api/v1/openapi.json").json
    category = doc["components"]["schemas"]["ArticleInput"]["properties"]["category"]
    assert sorted(category["oneOf"][0]["enum"]) == ["economy", "science", "world"]
