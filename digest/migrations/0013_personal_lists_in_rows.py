"""Personal lists move into rows of lists (digest.daily.lists): an Edition with `personal`
now keeps `{"lists": {"r<reader id>": {...}}}` in `reasons`. A personal edition written
before (one reader's list in its own row) becomes a row of that list, under each reader a
delivery of it went to; its address keeps working (a row of one list is shown at its slug)."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import migrations


def into_rows(apps: Any, schema_editor: Any) -> None:
    Edition = apps.get_model("digest", "Edition")
    Delivery = apps.get_model("digest", "Delivery")
    for edition in Edition.objects.filter(personal=True).iterator():
        reasons = edition.reasons or {}
        if "lists" in reasons:
            continue
        readers = sorted(set(Delivery.objects.filter(edition=edition).values_list("subscriber_id", flat=True)))
        key = secrets.token_urlsafe(9)
        item = {
            "ids": list(edition.paper_ids or []),
            "subject": edition.subject,
            "preheader": edition.preheader,
            "reasons": reasons,
            "key": key,
        }
        edition.reasons = {"lists": {f"r{reader}": dict(item) for reader in readers}}
        edition.paper_ids = []
        edition.save(update_fields=["reasons", "paper_ids"])


def back_to_editions(apps: Any, schema_editor: Any) -> None:
    Edition = apps.get_model("digest", "Edition")
    for edition in Edition.objects.filter(personal=True).iterator():
        lists = (edition.reasons or {}).get("lists")
        if not isinstance(lists, dict):
            continue
        first = next(iter(lists.values()), None) or {}
        edition.paper_ids = list(first.get("ids") or [])
        edition.subject, edition.preheader = first.get("subject", ""), first.get("preheader", "")
        names = ((edition.reasons or {}).get("sets") or {}).get(first.get("set", "")) or []
        why = {pid: {"why": lines} for pid, lines in (first.get("why") or {}).items()}
        edition.reasons = first.get("reasons") or {"topics": names, "papers": why}
        edition.save(update_fields=["reasons", "paper_ids", "subject", "preheader"])


class Migration(migrations.Migration):
    dependencies = [("digest", "0012_edition_fewer_indexes")]

    operations = [migrations.RunPython(into_rows, back_to_editions)]
