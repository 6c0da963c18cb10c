"""Signals other apps listen to (subscriptions never imports them)."""

from __future__ import annotations

import django.dispatch

# Sent with `event=EmailEvent` after an ESP tracking event is stored (once per event).
email_event_recorded = django.dispatch.Signal()

# Sent with `subscriber=Subscriber` when a reader downloads their data; each receiver returns a
# dict of JSON-ready parts to add to the export (e.g. feedback, deliveries).
reader_data_requested = django.dispatch.Signal()

# Sent with `subscriber=Subscriber` and `limit=int` by the preference center; each receiver
# returns a list of the reader's past digests, newest first, as PastDigest.
past_digests_requested = django.dispatch.Signal()
