"""An ESP stand-in for tests: anymail's test backend that fails on demand.

`script[email]` is a list of outcomes consumed one per send to that address:
an exception instance to raise (as the ESP's API would), or "rejected".
Only what would leave the process is faked; our own services run for real.
"""

from __future__ import annotations

from anymail.backends.test import EmailBackend as TestBackend
from anymail.message import AnymailRecipientStatus

script: dict[str, list[object]] = {}
calls: list[list[str]] = []
opened: list[int] = []  # one entry per connection opened
refuse_connection: list[BaseException] = []  # raised by open() while not empty


def reset() -> None:
    script.clear()
    calls.clear()
    opened.clear()
    refuse_connection.clear()


class EmailBackend(TestBackend):
    esp_name = "FakeESP"

    _session = False

    def open(self):
        """Like a requests-based ESP backend: a session persists until close()."""
        if refuse_connection:
            raise refuse_connection[0]
        if self._session:
            return False
        self._session = True
        opened.append(1)
        return True

    def close(self):
        self._session = False

    def post_to_esp(self, payload, message):
        recipients = list(payload.recipient_emails)
        calls.append(recipients)
        for email in recipients:
            outcomes = script.get(email)
            if outcomes:
                outcome = outcomes.pop(0)
                if isinstance(outcome, BaseException):
                    raise outcome
                if outcome == "rejected":
                    message.anymail_test_response = {
                        "recipient_status": {
                            e: AnymailRecipientStatus(
                                message_id=None, status="rejected" if e == email else "sent"
                            )
                            for e in recipients
                        }
                    }
        return super().post_to_esp(payload, message)
