"""Signals other apps listen to (subscriptions never imports them)."""

from __future__ import annotations

import django.dispatch

# Sent with `event=EmailEvent` after an ESP tracking event is stored (once per event).
email_event_recorded = django.dispatch.Signal()
