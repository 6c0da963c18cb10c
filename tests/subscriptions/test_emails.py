from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from subscriptions.emails import email_hash, normalize_email


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Ada@Example.COM ", "Ada@example.com"),
        ("bob@sub.Example.org", "bob@sub.example.org"),
        ("plain@example.com", "plain@example.com"),
    ],
)
def test_normalize_email_trims_and_lowercases_the_domain_only(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "no-at-sign",
        "a@",
        "@example.com",
        "ada@example.com\r\nBcc: victim@example.com",
        "ada@example.com\n",
        "ada\x00@example.com",
        "a" * 250 + "@example.com",
        "two@@example.com",
        "ada@exa mple.com",
        None,
        42,
    ],
)
def test_normalize_email_refuses_bad_values_with_a_clear_error(raw):
    with pytest.raises(ValidationError) as excinfo:
        normalize_email(raw)
    assert excinfo.value.messages[0]


def test_email_hash_ignores_case_and_surrounding_spaces():
    assert email_hash(" Ada@Example.com") == email_hash("ada@example.com")
    assert len(email_hash("ada@example.com")) == 64
    assert "ada" not in email_hash("ada@example.com")
