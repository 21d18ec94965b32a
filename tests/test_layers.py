"""The house's drawing, checked: imports point down the layers and never go round in a circle.

Views (pages, feeds, the API, the fediverse) use the cache, the negotiation rules and the
store; the store uses the models, the text rules and the limits; nothing below imports what is
above it. A new module must be given its layer here, which is where the drawing is kept.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "syndicate"

# Lowest first. A module (or a whole package: store, cache, importers, fediverse) may import
# modules of its own layer or below.
LAYERS: list[set[str]] = [
    # facts and small tools that know nothing of the rest
    {
        "limits",
        "lru",
        "log",
        "models",
        "changes",
        "textnorm",
        "i18n",
        "demo_words",
        "version",
        "security",
        "negotiation",
    },
    # rules for text, addresses, input and settings
    {"content", "urls", "fields", "validation", "term_input", "searchgate", "config", "showing"},
    # the only place that speaks SQL, and its per-request handle
    {"store", "db"},
    # what serves the views: the response cache, edge keys and purges, counters, the header
    # gate, health, errors, WebSub, importers, the demo, the feed writers, the OpenAPI document
    {
        "cache",
        "schedule",
        "surrogate",
        "fragments",
        "purge",
        "subscribers",
        "partner_usage",
        "gate",
        "health",
        "errors",
        "websub",
        "importers",
        "demo",
        "feedwriters",
        "openapi",
        "openapi_terms",
        "partners",
    },  # fmt: skip
    # views and the server
    {
        "site",
        "search_page",
        "sitemaps",
        "feeds",
        "feed_http",
        "api",
        "api_input",
        "api_terms",
        "api_stats",
        "api_partners",
        "fediverse",
        "server",
    },  # fmt: skip
    # the application factory and the command line, which wire everything
    {"syndicate", "__main__", "cli", "cli_terms", "cli_stats", "cli_partners"},
]
LAYER = {name: level for level, names in enumerate(LAYERS) for name in names}


def unit(module: str) -> str:
    """'syndicate.store.articles' -> 'store'; 'syndicate' -> 'syndicate'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imports() -> dict[str, set[str]]:
    """Each module's unit -> the units it imports (at any depth of the code)."""
    edges: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["syndicate", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        module = ".".join(parts)
        package = parts if path.name == "__init__.py" else parts[:-1]
        targets = edges.setdefault(unit(module), set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[: len(package) - (node.level - 1)]
                if node.module:
                    targets.add(unit(".".join([*base, node.module])))
                else:
                    targets.update(unit(".".join([*base, alias.name])) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("syndicate"):
                targets.add(unit(node.module))
            elif isinstance(node, ast.Import):
                targets.update(unit(a.name) for a in node.names if a.name.split(".")[0] == "syndicate")
        targets.discard(unit(module))
    return edges


def test_every_module_has_a_layer():
    assert sorted(set(imports()) - set(LAYER)) == []


def test_imports_only_point_down():
    upward = sorted(
        f"{source} (layer {LAYER[source]}) imports {target} (layer {LAYER[target]})"
        for source, targets in imports().items()
        for target in targets
        if source in LAYER and target in LAYER and LAYER[target] > LAYER[source]
    )
    assert upward == []


def test_no_import_cycles():
    edges = imports()
    cycles: list[list[str]] = []

    def walk(node: str, trail: list[str]) -> None:
        for nxt in sorted(edges.get(node, ())):
            if nxt in trail:
                cycles.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in done:
                walk(nxt, [*trail, nxt])
        done.add(node)

    done: set[str] = set()
    for start in sorted(edges):
        if start not in done:
            walk(start, [start])
    assert cycles == []
