"""What finding words in unspaced scripts costs: the bigram folding we ship vs FTS5's trigram
tokenizer as a second index, on a synthetic Chinese archive (and on the English demo, where the
folding is the identity).

    python bench/search_scripts_cost.py [--articles 12000]

Three indexes over the same articles (title + body, ~600 Han characters each, drawn from 400
common characters so words repeat as in real text): unicode61 as main had it (a run of Han is
one token: words inside are not found), unicode61 over the bigram-folded view (this branch), and
unicode61 plus a trigram index (finds 3+ character words only). Printed: build time, database
size, and median query time of a 2- and a 3-character word.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from syndicate import textnorm  # noqa: E402
from syndicate.store.search import fts_query  # noqa: E402

COMMON = (
    "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可里后小"
    "么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知"
    "民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间"
    "新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼"
    "体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或"
    "司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认"
    "算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运"
    "武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取"
    "设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观"
    "争究包组造落视济喜离虽坐集编宝谈府拉黑且随格尽剑讲布杀微怕母调局根曾准团段终乐切级克精哪官示冷域"
)


def _articles(count: int, rng: random.Random) -> list[tuple[str, str]]:
    pick = lambda n: "".join(rng.choice(COMMON) for _ in range(n))  # noqa: E731
    return [(pick(12), "，".join(pick(rng.randint(8, 30)) for _ in range(30))) for _ in range(count)]


def _build(path: Path, rows: list[tuple[str, str]], kind: str) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.create_function("syn_fold", 1, textnorm.index_text, deterministic=True)
    conn.executescript(
        """
        CREATE TABLE articles (id INTEGER PRIMARY KEY, title TEXT, body_text TEXT);
        CREATE VIEW articles_search AS SELECT id, syn_fold(title) AS title, syn_fold(body_text) AS body_text
            FROM articles;
        """
    )
    conn.executemany("INSERT INTO articles (title, body_text) VALUES (?, ?)", rows)
    t0 = time.perf_counter()
    if kind == "unicode61 (main)":
        conn.executescript(
            "CREATE VIRTUAL TABLE f USING fts5(title, body_text, content='articles', content_rowid='id',"
            " tokenize='porter unicode61 remove_diacritics 2'); INSERT INTO f (f) VALUES ('rebuild');"
        )
    else:
        conn.executescript(
            "CREATE VIRTUAL TABLE f USING fts5(title, body_text, content='articles_search', content_rowid='id',"
            " tokenize=\"porter unicode61 remove_diacritics 2 categories 'L* N* Co M*'\");"
            " INSERT INTO f (f) VALUES ('rebuild');"
        )
    if kind == "unicode61 + trigram index":
        conn.executescript(
            "CREATE VIRTUAL TABLE t USING fts5(title, body_text, content='articles', content_rowid='id',"
            " tokenize='trigram'); INSERT INTO t (t) VALUES ('rebuild');"
        )
    conn.execute("INSERT INTO f (f) VALUES ('optimize')")
    elapsed = time.perf_counter() - t0
    conn.execute("VACUUM")
    conn.close()
    return elapsed


def _query_ms(path: Path, kind: str, word: str) -> tuple[float, int]:
    conn = sqlite3.connect(path)
    conn.create_function("syn_fold", 1, textnorm.index_text, deterministic=True)
    if kind == "unicode61 (main)":
        table, match = "f", f'"{word}"'
    elif kind == "unicode61 + trigram index":
        table, match = ("t", f'"{word}"') if len(word) >= 3 else ("f", fts_query(word))
    else:
        table, match = "f", fts_query(word)
    sql = f"SELECT rowid FROM {table} WHERE {table} MATCH ? ORDER BY bm25({table}) LIMIT 20"
    times, found = [], 0
    for _ in range(9):
        t0 = time.perf_counter()
        found = len(conn.execute(sql, (match,)).fetchall())
        times.append(time.perf_counter() - t0)
    count = conn.execute(f"SELECT count(*) FROM {table} WHERE {table} MATCH ?", (match,)).fetchone()[0]
    conn.close()
    return statistics.median(times) * 1000, count if found else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=12000)
    args = parser.parse_args()
    rows = _articles(args.articles, random.Random(1107))
    two, three = "国家", "中国人"
    print(f"{args.articles} synthetic Chinese articles, ~{sum(len(b) for _, b in rows) // len(rows)} characters each")
    head = f"{'index':30} {'build s':>8} {'DB MB':>7}"
    print(f"{head} {two + ' ms':>10} {'(matches)':>9} {three + ' ms':>10} {'(matches)':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("unicode61 (main)", "unicode61 over bigrams (ours)", "unicode61 + trigram index"):
            path = Path(tmp) / f"{len(kind)}.db"
            build = _build(path, rows, kind)
            size = path.stat().st_size / 1e6
            (q2, n2), (q3, n3) = _query_ms(path, kind, two), _query_ms(path, kind, three)
            print(f"{kind:30} {build:8.1f} {size:7.1f} {q2:10.1f} {n2:9} {q3:10.1f} {n3:9}")


if __name__ == "__main__":
    main()
