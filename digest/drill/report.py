"""The drill's table (Markdown, as docs/reliability.md shows it)."""

from __future__ import annotations

from collections.abc import Sequence

from digest.drill.runner import Outcome

HEADER = (
    "| fault | what | readers | accepted | lost | duplicated | settled by ESP event | careful retries "
    "| failed | healed over (simulated) | seconds |"
)


def table(outcomes: Sequence[Outcome], what: dict[str, str]) -> list[str]:
    lines = [HEADER, "|" + "---|" * HEADER.count(" | ") + "---|"]
    for o in outcomes:
        lines.append(
            f"| {o.fault} | {what.get(o.fault, '')} | {o.readers} | {o.accepted} | {o.lost} | {o.duplicated} "
            f"| {o.settled_by_esp} | {o.careful_retries} | {o.failed} | {o.simulated_minutes} min "
            f"| {o.seconds:.0f} |"
        )
    return lines
