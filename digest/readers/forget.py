"""A deleted reader's personal lists go with them: each list is taken out of the row that
keeps it (digest.daily.lists) before their deliveries are deleted, so nothing derived from
their keywords, authors or feedback stays behind."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from digest.daily.lists import reader_key
from digest.models import Delivery, Edition
from subscriptions.models import Subscriber


@receiver(pre_delete, sender=Subscriber, dispatch_uid="digest.forget_personal_lists")
def forget_personal_lists(sender: object, instance: Subscriber, **kwargs: object) -> None:
    """Remove the reader's lists from the rows their deliveries point to (a row left with no
    list keeps its place: deliveries of other readers point to it)."""
    key = reader_key(instance.pk)
    rows = Delivery.objects.filter(subscriber=instance, edition__personal=True)
    ids = set(rows.values_list("edition_id", flat=True))
    if not ids:
        return
    with transaction.atomic():
        for edition in Edition.objects.select_for_update().filter(pk__in=ids).only("pk", "reasons"):
            lists = (edition.reasons or {}).get("lists")
            if isinstance(lists, dict) and lists.pop(key, None) is not None:
                edition.save(update_fields=["reasons"])
