"""A loopback ESP stand-in speaking Postmark's send API (anymail's Postmark backend points at
it), which logs every message it accepts and posts Postmark delivery webhooks back to the
site, as a real ESP does. Faults are switched per run (`Faults`).

What "accepted" means here is what it means at a real ESP: the message is logged (and will
be delivered) before the answer is written; an answer the client never reads does not
unsend it.
"""

from __future__ import annotations

import base64
import json
import logging
import queue
import random
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

logger = logging.getLogger(__name__)


@dataclass
class Faults:
    """What the stand-in does wrong right now (changed by the drill between and during runs)."""

    error_rate: float = 0.0  # share of calls answered 500, message not accepted
    down_until: Callable[[], bool] = lambda: False  # while True: 503, not accepted
    slow_accepts: int = 0  # this many next calls: accepted, answered after `slow_seconds`
    slow_seconds: float = 0.0


@dataclass
class Accepted:
    recipient: str
    delivery_id: str
    message_id: str


@dataclass
class StandIn:
    """The server's state: the accepted log, the faults, the webhook queue."""

    webhook_url: str
    webhook_auth: str
    faults: Faults = field(default_factory=Faults)
    accepted: list[Accepted] = field(default_factory=list)
    calls: int = 0
    refused: int = 0
    webhooks_posted: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    rng: random.Random = field(default_factory=lambda: random.Random(15))  # noqa: S311 - fault injection
    outbox: queue.Queue[tuple[float, Accepted, int]] = field(default_factory=queue.Queue)

    def reset(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.accepted.clear()
            self.calls = self.refused = self.webhooks_posted = 0

    def per_recipient(self) -> Counter[str]:
        with self.lock:
            return Counter(a.recipient for a in self.accepted)

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], float]:
        """(HTTP status, JSON answer, seconds to wait before answering) for one send call."""
        with self.lock:
            self.calls += 1
            faults = self.faults
            if faults.down_until():
                self.refused += 1
                return 503, {"ErrorCode": 100, "Message": "Service unavailable (drill outage)"}, 0.0
            if faults.error_rate and self.rng.random() < faults.error_rate:
                self.refused += 1
                return 500, {"ErrorCode": 100, "Message": "Internal error (drill)"}, 0.0
            delay = 0.0
            if faults.slow_accepts > 0:
                faults.slow_accepts -= 1
                delay = faults.slow_seconds
            message = Accepted(
                recipient=str(body.get("To", "")).strip().lower(),
                delivery_id=str((body.get("Metadata") or {}).get("delivery_id", "")),
                message_id=str(uuid.uuid4()),
            )
            self.accepted.append(message)
        self.outbox.put((time.monotonic() + 0.3, message, 0))
        answer = {
            "To": message.recipient,
            "SubmittedAt": "2026-12-02T00:00:00Z",
            "MessageID": message.message_id,
            "ErrorCode": 0,
            "Message": "OK",
        }
        return 200, answer, delay

    def post_webhooks(self, stop: threading.Event) -> None:
        """Post a Postmark `Delivery` event per accepted message; retry (as ESPs do) while
        the site is down, up to 30 times."""
        token = base64.b64encode(self.webhook_auth.encode()).decode()
        while not stop.is_set():
            try:
                due, message, tries = self.outbox.get(timeout=0.2)
            except queue.Empty:
                continue
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            event = {
                "RecordType": "Delivery",
                "ServerID": 1,
                "MessageStream": "outbound",
                "MessageID": message.message_id,
                "Recipient": message.recipient,
                "Tag": "",
                "DeliveredAt": "2026-12-02T00:00:01Z",
                "Details": "drill delivery",
                "Metadata": {"delivery_id": message.delivery_id},
            }
            request = urllib.request.Request(  # noqa: S310 - the loopback site
                self.webhook_url,
                data=json.dumps(event).encode(),
                headers={"Content-Type": "application/json", "Authorization": f"Basic {token}"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - the loopback site
                    pass
                with self.lock:
                    self.webhooks_posted += 1
            except (urllib.error.URLError, OSError):
                if tries < 30:
                    self.outbox.put((time.monotonic() + 1.0, message, tries + 1))


def _whole_body(request: BaseHTTPRequestHandler) -> dict[str, Any] | None:
    """The request's JSON object when all of it arrived and it names a recipient, else None."""
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return None
    if length <= 0:
        return None
    raw = request.rfile.read(length)
    if len(raw) < length:
        return None
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(body, dict) or not str(body.get("To") or "").strip():
        return None
    return body


def serve(state: StandIn, port: int) -> tuple[ThreadingHTTPServer, threading.Event]:
    """Start the stand-in on 127.0.0.1:`port` and its webhook poster; returns (server, stop)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/email":
                self._reply(422, {"ErrorCode": 300, "Message": "only /email is served"})
                return
            body = _whole_body(self)
            if body is None:
                # A sender killed while writing leaves half a request: Postmark refuses it
                # (300, invalid email request) and nothing is sent.
                self._reply(422, {"ErrorCode": 300, "Message": "Invalid email request (drill)"})
                return
            status, answer, delay = state.answer(body)
            if delay:
                time.sleep(delay)  # accepted and logged; the client has given up by now
            self._reply(status, answer)

        def _reply(self, status: int, answer: dict[str, Any]) -> None:
            data = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client went away (slow accept): what a real ESP sees too

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    stop = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True, name="esp-stand-in").start()
    threading.Thread(target=state.post_webhooks, args=(stop,), daemon=True, name="esp-webhooks").start()
    return server, stop
