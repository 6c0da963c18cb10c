"""An SMTP sink on 127.0.0.1 (aiosmtpd in a thread) that counts what it accepted.

It can answer 4xx for the first K messages, refuse some recipients with 5xx and
hold a message (not answering DATA) until released, so a test can kill the
sender mid-send. A message counts only if the client was still there for "250".
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class SinkHandler:
    """aiosmtpd handler: what to refuse, delay or hold, and what was accepted."""

    temp_fail_first: int = 0
    refuse: set[str] = field(default_factory=set)
    delay: float = 0.0
    hold_after: int | None = None
    accepted: list[tuple[list[str], bytes]] = field(default_factory=list)
    temp_failed: int = 0
    dropped: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return "550 5.1.1 mailbox does not exist"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.temp_failed < self.temp_fail_first:
                self.temp_failed += 1
                return "451 4.3.0 try again later"
            hold = self.hold_after is not None and len(self.accepted) >= self.hold_after
        if self.delay:
            await asyncio.sleep(self.delay)
        if hold:
            self.holding.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # let the loop notice a sender that died meanwhile
        if server.transport is None or server.transport.is_closing():
            with self.lock:
                self.dropped += 1  # the sender is gone: it never saw "250"
            return "421 4.3.0 closing"
        with self.lock:
            self.accepted.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK: queued"


class SmtpSink:
    """Start with `with SmtpSink() as sink:`; `sink.port`, `sink.per_recipient()`."""

    def __init__(self, **behaviour: object) -> None:
        self.handler = SinkHandler(**behaviour)  # type: ignore[arg-type]
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.handler.release.set()
        self.controller.stop()

    def messages(self) -> list[Message]:
        with self.handler.lock:
            return [message_from_bytes(raw) for _, raw in self.handler.accepted]

    def per_recipient(self) -> Counter[str]:
        with self.handler.lock:
            return Counter(rcpt.lower() for rcpts, _ in self.handler.accepted for rcpt in rcpts)

    def wait_for(self, count: int, *, timeout: float) -> int:
        """Wait until `count` messages arrived (or timeout); how many did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(self.per_recipient().values()) >= count:
                break
            time.sleep(0.1)
        return sum(self.per_recipient().values())

    def env(self) -> dict[str, str]:
        """Environment for a worker that sends through this sink."""
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.port),
            "EMAIL_USE_TLS": "false",
            "EMAIL_TIMEOUT": "10",
        }
