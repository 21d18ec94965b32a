"""Render times of the HTML site without any cache: page 1, page 1107, an article, a category
page and a search, each the median of many renders through the Flask test client on the
12,000-article demo archive (CACHE_TYPE = NullCache, so every request runs view + store +
template).

    PYTHONPATH=. python bench/site_render.py [--database PATH] [--repeat 50]

Without --database it generates the demo archive (seed 1107) in a temporary folder first.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from syndicate import create_app  # noqa: E402


def build_demo(folder: Path) -> Path:
    path = folder / "demo.db"
    app = create_app({"DATABASE": str(path), "CACHE_TYPE": "NullCache"})
    result = app.test_cli_runner().invoke(args=["demo", "--articles", "12000", "--seed", "1107"])
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return path


def median_ms(client, path: str, repeat: int) -> tuple[float, int]:
    response = client.get(path)  # warm: page keys, SQLite page cache, compiled templates
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code}")
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000, len(response.data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="an existing archive (default: generate the 12k demo)")
    parser.add_argument("--repeat", type=int, default=50, help="renders per page (default 50)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = Path(args.database) if args.database else build_demo(Path(tmp))
        app = create_app({"DATABASE": str(database), "CACHE_TYPE": "NullCache"})
        client = app.test_client()
        deep = client.get("/page/1107/").get_data(as_text=True)
        article = re.search(r'<h2><a href="([^"]+)"', deep).group(1)
        pages = [
            ("page 1", "/"),
            ("page 1107", "/page/1107/"),
            ("article", article),
            ("category", "/category/economy/"),
            ("category p.100", "/category/economy/page/100/"),
            ("search", "/search?q=talks"),
        ]
        print(f"HTML render, no cache, median of {args.repeat} (PER_PAGE={app.config['PER_PAGE']}, {database.name})")
        print(f"{'page':<16} {'ms':>8} {'bytes':>8}  path")
        results = {}
        for name, path in pages:
            ms, size = median_ms(client, path, args.repeat)
            results[name] = ms
            print(f"{name:<16} {ms:8.2f} {size:8d}  {path}")
        print(f"ratio page 1107 / page 1: {results['page 1107'] / results['page 1']:.2f}")


if __name__ == "__main__":
    main()
