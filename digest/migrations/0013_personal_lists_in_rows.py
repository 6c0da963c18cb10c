"""Personal lists move into rows of lists (digest.daily.lists): an Edition with `personal`
now keeps `{"lists": {"r<reader id>": {...}}}` in `reasons`. A personal edition written
before (one list in its own row, rarely shared by readers whose lists were the same) becomes
a row of that list under each reader a delivery of it went to ("r0" when none did); its
address keeps working (such a row is shown at its slug: see lists.list_at). Not reversible:
the code before would send one list of a row to every reader the row's deliveries are for."""

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
        edition.reasons = {"lists": {f"r{reader}": dict(item) for reader in readers or [0]}}
        edition.paper_ids = []
        edition.save(update_fields=["reasons", "paper_ids"])


class Migration(migrations.Migration):
    dependencies = [("digest", "0012_edition_fewer_indexes")]

    operations = [migrations.RunPython(into_rows)]
