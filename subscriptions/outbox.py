"""An email backend that writes each message as one RFC 5322 `.eml` file.

The default backend for the demo and development: open any file under
`var/outbox/` in a mail client or browser. It accepts anymail messages too
(tags and metadata become X-Tags / X-Metadata headers, so they stay visible).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence
from email.generator import BytesGenerator
from io import BytesIO
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

_counter_lock = threading.Lock()
_counter = 0


def _next_serial() -> int:
    global _counter
    with _counter_lock:
        _counter += 1
        return _counter


def _safe(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", value)[:60].strip("_") or "message"


def _as_crlf_bytes(message: EmailMessage) -> bytes:
    """The message as RFC 5322 wants it on the wire: CRLF line ends, no "From " mangling."""
    buffer = BytesIO()
    BytesGenerator(buffer, mangle_from_=False).flatten(message.message(), linesep="\r\n")
    return buffer.getvalue()


class EmlFileBackend(BaseEmailBackend):
    """Write every message to `<EMAIL_OUTBOX_DIR>/<time>-<serial>-<recipient>.eml`."""

    def __init__(self, *, outbox_dir: str | Path | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.outbox_dir = Path(outbox_dir or settings.EMAIL_OUTBOX_DIR)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            tags = getattr(message, "tags", None)
            metadata = getattr(message, "metadata", None)
            if tags:
                message.extra_headers.setdefault("X-Tags", ", ".join(tags))
            if metadata:
                message.extra_headers.setdefault("X-Metadata", json.dumps(metadata, sort_keys=True))
            stamp = timezone.now().strftime("%Y%m%dT%H%M%S%f")
            name = f"{stamp}-{_next_serial():06d}-{_safe(message.recipients()[0])}.eml"
            path = self.outbox_dir / name
            path.write_bytes(_as_crlf_bytes(message))
            sent += 1
        return sent
