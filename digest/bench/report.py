"""The bench's one table (plain text, fixed columns)."""

from __future__ import annotations

from collections.abc import Sequence

from digest.bench.runner import ModeResult

COLUMNS = (
    ("mode", 12), ("readers", 9), ("topic sets", 10), ("editions", 8), ("messages", 9),
    ("plan s", 8), ("send s", 8), ("total s", 8), ("recipients/s", 12), ("queries", 8),
    ("q/1k readers", 12), ("peak RSS MB", 11),
)  # fmt: skip


def table(results: Sequence[ModeResult], *, topic_sets: int) -> list[str]:
    """Header, one line per mode, ratios; the caller prints `total:` last."""
    lines = [" ".join(name.rjust(width) for name, width in COLUMNS)]
    for r in results:
        mode = f"{r.mode}*" if r.sample else r.mode
        cells = (
            mode, r.readers, topic_sets, r.editions, r.messages,
            f"{r.phases.seconds.get('plan', 0.0):.2f}", f"{r.phases.seconds.get('send', 0.0):.2f}",
            f"{r.total:.2f}", f"{r.rate:,.0f}", r.queries, f"{r.queries_per_1000:.2f}",
            f"{r.peak_rss_mb:.0f}",
        )  # fmt: skip
        lines.append(" ".join(str(c).rjust(w) for c, (_, w) in zip(cells, COLUMNS, strict=True)))
    if any(r.sample for r in results):
        lines.append("* naive ran on the first readers only (--naive-limit); its rate is per reader sent")
    celery = [r for r in results if r.mode.startswith("celery") and r.phases.seconds.get("send")]
    if len(celery) > 1:
        first = celery[0]
        base = first.recipients / first.phases.seconds["send"]
        for r in celery[1:]:
            rate = r.recipients / r.phases.seconds["send"]
            lines.append(f"{r.mode} / {first.mode} (send phase): {rate / base:.2f}x")
    rates = {r.mode: r.rate for r in results}
    if rates.get("naive"):
        for mode in ("per-message", "batch"):
            if mode in rates:
                lines.append(f"{mode} / naive: {rates[mode] / rates['naive']:.1f}x")
    return lines
