from __future__ import annotations

import email
import email.policy
import json
from typing import Any

import pytest
from anymail.message import AnymailMessage
from django.core import mail

from subscriptions.messages import build_message, unsubscribe_headers
from subscriptions.outbox import EmlFileBackend
from tests.sent_mail import anymail_message, esp_params, mime_body


def _message(**overrides: Any) -> AnymailMessage:
    values: dict[str, Any] = {
        "subject": "Papers for you",
        "text": "Plain part",
        "html": "<p>HTML part</p>",
        "to": "reader@example.com",
        "from_email": "Paperboy <digest@paperboy.localhost>",
        "unsubscribe_url": "https://paperboy.example/unsubscribe/tok/",
        "tags": ["digest"],
        "metadata": {"delivery_id": 42},
    }
    values.update(overrides)
    return build_message(**values)


def test_unsubscribe_headers_follow_rfc_8058(settings):
    settings.LIST_ID = "Paperboy <daily.paperboy.example>"

    assert unsubscribe_headers("https://x.example/u/t/") == {
        "List-Unsubscribe": "<https://x.example/u/t/>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": "Paperboy <daily.paperboy.example>",
    }


@pytest.mark.django_db
def test_build_message_carries_both_parts_headers_tags_and_metadata(anymail_backend):
    _message().send()

    [outboxed] = mail.outbox
    sent = anymail_message(outboxed)
    assert sent.body == "Plain part"
    assert sent.alternatives[0][1] == "text/html"
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    params = esp_params(sent)
    assert params["tags"] == ["digest"]
    assert params["metadata"] == {"delivery_id": 42}


def test_eml_backend_writes_one_readable_file_per_message(tmp_path):
    backend = EmlFileBackend(outbox_dir=tmp_path)

    assert backend.send_messages([_message(), _message(to="other@example.com")]) == 2

    files = sorted(tmp_path.glob("*.eml"))
    assert len(files) == 2
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["List-Unsubscribe"] == "<https://paperboy.example/unsubscribe/tok/>"
    assert parsed["X-Tags"] == "digest"
    assert json.loads(parsed["X-Metadata"]) == {"delivery_id": 42}
    assert mime_body(parsed, "plain").strip() == "Plain part"
    assert "HTML part" in mime_body(parsed, "html")
