"""ANYMAIL_* environment values arrive typed as anymail reads them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.anymail_env import anymail_settings


def test_flags_numbers_timeouts_and_objects_are_typed_and_the_rest_stays_text():
    settings = anymail_settings(
        {
            "ANYMAIL_POSTMARK_SERVER_TOKEN": "abc-123",
            "ANYMAIL_IGNORE_RECIPIENT_STATUS": "false",
            "ANYMAIL_POSTMARK_USE_BULK_API": "True",
            "ANYMAIL_AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS": "0",
            "ANYMAIL_REQUESTS_TIMEOUT": "3.05,27",
            "ANYMAIL_AMAZON_SES_CLIENT_PARAMS": '{"region_name": "eu-west-1"}',
            "ANYMAIL_RESEND_DOWNLOAD_CHUNK_SIZE": "65536",
            "ANYMAIL_WEBHOOK_SECRET": "user:pass",
            "ANYMAIL_EMPTY": "",
            "NOT_ANYMAIL_X": "1",
        }
    )

    assert settings == {
        "POSTMARK_SERVER_TOKEN": "abc-123",
        "IGNORE_RECIPIENT_STATUS": False,
        "POSTMARK_USE_BULK_API": True,
        "AMAZON_SES_AUTO_CONFIRM_SNS_SUBSCRIPTIONS": False,
        "REQUESTS_TIMEOUT": (3.05, 27.0),
        "AMAZON_SES_CLIENT_PARAMS": {"region_name": "eu-west-1"},
        "RESEND_DOWNLOAD_CHUNK_SIZE": 65536,
        "WEBHOOK_SECRET": "user:pass",
    }
    assert anymail_settings({"ANYMAIL_REQUESTS_TIMEOUT": "30"}) == {"REQUESTS_TIMEOUT": 30.0}


@pytest.mark.parametrize(
    ("name", "value", "hint"),
    [
        ("ANYMAIL_IGNORE_RECIPIENT_STATUS", "maybe", "true or false"),
        ("ANYMAIL_REQUESTS_TIMEOUT", "soon", "seconds"),
        ("ANYMAIL_REQUESTS_TIMEOUT", "1,2,3", "seconds"),
        ("ANYMAIL_REQUESTS_TIMEOUT", "-1", "seconds"),
        ("ANYMAIL_SEND_DEFAULTS", "[1, 2]", "JSON object"),
        ("ANYMAIL_SEND_DEFAULTS", "{oops", "JSON object"),
        ("ANYMAIL_MAILTRAP_DOWNLOAD_CHUNK_SIZE", "0", "whole number"),
    ],
)
def test_a_value_that_does_not_convert_names_the_variable(name, value, hint):
    with pytest.raises(ImproperlyConfigured, match=hint) as failure:
        anymail_settings({name: value})
    assert name in str(failure.value)
