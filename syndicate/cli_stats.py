"""``syndicate stats --feeds``: the feed subscriber table (``subscribers.feed_report``)."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app

from .db import get_store
from .subscribers import feed_counter, feed_report


def print_feed_stats(days: int, limit: int) -> None:
    """Per feed: subscribers on the latest day (aggregators' figures plus direct pollers), the
    means over 7 and 30 days, requests and 304s over ``days``, and the aggregators' figures."""
    counter = feed_counter()
    if counter is not None:
        counter.flush()  # nothing of this process is left out (a server flushes its own)
    today = datetime.now(UTC).date()
    report = feed_report(get_store(), current_app.config["SITE_URL"], days=days, limit=limit, today=today)
    click.echo(f"Feed subscribers, {report['since']} to {report['until']} (UTC days)")
    if not report["feeds"]:
        click.echo("No feed requests counted in these days (FEED_STATS_FLUSH = 0 turns counting off).")
        return
    header = f"{'Feed':<40} {'Subs':>7} {'7d avg':>8} {'30d avg':>8} {'Requests':>9} {'304s':>7}  Latest day"
    click.echo(header)
    for feed in report["feeds"]:
        latest = feed["days"][0]
        parts = [f"{name} {n}" for name, n in sorted(latest["aggregators"].items(), key=lambda item: -item[1])]
        parts.append(f"direct {latest['pollers']}")
        click.echo(
            f"{feed['path'][:40]:<40} {feed['subscribers']:>7} {feed['average_7']:>8.1f} {feed['average_30']:>8.1f}"
            f" {feed['requests']:>9} {feed['not_modified']:>7}  {latest['day']}: " + ", ".join(parts)
        )
