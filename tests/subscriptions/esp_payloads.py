"""Tracking-webhook bodies shaped as each ESP sends them (from the ESPs' webhook docs), with
the delivery id in the metadata the way anymail puts it there when sending."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

MAILGUN_SIGNING_KEY = "mailgun-webhook-signing-key-for-tests"


def sendgrid_bounce(
    email: str, *, kind: str, reason: str, status: str, event_id: str
) -> list[dict[str, Any]]:
    return [
        {
            "email": email,
            "timestamp": 1772348462,
            "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
            "event": "bounce",
            "category": ["digest"],
            "sg_event_id": event_id,
            "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
            "reason": reason,
            "status": status,
            "type": kind,
            "tls": 1,
            "ip": "168.1.1.1",
            "delivery_id": "42",  # SendGrid merges custom args (anymail metadata) into the event
        }
    ]


def sendgrid_deferred(email: str) -> list[dict[str, Any]]:
    return [
        {
            "email": email,
            "timestamp": 1772348462,
            "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
            "event": "deferred",
            "category": ["digest"],
            "sg_event_id": "zmzJhfJgAfUSOW80yEbPyw==",
            "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
            "response": "400 try again later",
            "attempt": "5",
            "delivery_id": "42",
        }
    ]


def sendgrid_dropped(email: str) -> list[dict[str, Any]]:
    return [
        {
            "email": email,
            "timestamp": 1772348462,
            "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
            "event": "dropped",
            "category": ["digest"],
            "sg_event_id": "zmzJhfJgAfUSOW80yEbPyx==",
            "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
            "reason": "Bounced Address",
            "status": "5.0.0",
            "delivery_id": "42",
        }
    ]


def mailgun_failed(email: str, *, severity: str, code: int, message: str, token: str) -> dict[str, Any]:
    timestamp = "1772348462"
    signature = hmac.new(
        MAILGUN_SIGNING_KEY.encode("ascii"), f"{timestamp}{token}".encode("ascii"), hashlib.sha256
    ).hexdigest()
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": {
            "event": "failed",
            "id": "G9Bn5sl1TC6nu79C8C0bwg",
            "timestamp": 1772348462.375624,
            "log-level": "error" if severity == "permanent" else "warn",
            "severity": severity,
            "reason": "bounce" if severity == "permanent" else "generic",
            "recipient": email,
            "recipient-domain": email.split("@")[1],
            "envelope": {"transport": "smtp", "sender": "digest@paperboy.localhost", "targets": email},
            "message": {
                "headers": {
                    "to": email,
                    "message-id": "20260301070000.1.1@mg.paperboy.example.org",
                    "from": "digest@paperboy.localhost",
                    "subject": "Your papers for 1 March",
                },
                "attachments": [],
                "size": 11111,
            },
            "delivery-status": {
                "attempt-no": 1,
                "message": message,
                "code": code,
                "description": "",
                "session-seconds": 0.3,
            },
            "user-variables": {"delivery_id": "42"},
            "flags": {"is-routed": False, "is-authenticated": True, "is-system-test": False},
            "tags": ["digest"],
        },
    }


def _ses_mail(email: str) -> dict[str, Any]:
    return {
        "timestamp": "2026-03-01T07:00:00.000Z",
        "source": "digest@paperboy.example.org",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/paperboy.example.org",
        "sendingAccountId": "123456789012",
        "messageId": "0100017f-8f7a-4b23-9a37-8b1c2d3e4f50-000000",
        "destination": [email],
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": "digest@paperboy.example.org"},
            {"name": "To", "value": email},
            {"name": "Subject", "value": "Your papers for 1 March"},
            {"name": "X-Metadata", "value": '{"delivery_id": "42"}'},
        ],
        "commonHeaders": {"from": ["digest@paperboy.example.org"], "to": [email], "subject": "Your papers"},
        "tags": {"ses:configuration-set": ["paperboy"]},
    }


def ses_notification(ses_event: dict[str, Any], message_id: str) -> dict[str, Any]:
    """An SNS Notification as SNS posts it: the SES event is a JSON string in Message."""
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:paperboy-tracking",
        "Subject": "Amazon SES Email Event Notification",
        "Message": json.dumps(ses_event),
        "Timestamp": "2026-03-01T07:00:05.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLEw6JRN...",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    }


def ses_bounce(email: str, *, bounce_type: str, sub_type: str, diagnostic: str | None) -> dict[str, Any]:
    recipient: dict[str, Any] = {"emailAddress": email, "action": "failed"}
    if diagnostic:
        recipient["status"] = diagnostic.split()[2] if diagnostic.startswith("smtp;") else "5.0.0"
        recipient["diagnosticCode"] = diagnostic
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": sub_type,
            "bouncedRecipients": [recipient],
            "timestamp": "2026-03-01T07:00:04.000Z",
            "feedbackId": "0100017f-aaaa-bbbb-cccc-000000000000-000000",
            "reportingMTA": "dsn; e226-55.smtp-out.us-east-1.amazonses.com",
        },
        "mail": _ses_mail(email),
    }


def ses_complaint(email: str) -> dict[str, Any]:
    return {
        "eventType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": email}],
            "timestamp": "2026-03-01T08:00:00.000Z",
            "feedbackId": "0100017f-dddd-eeee-ffff-000000000000-000000",
            "userAgent": "Mozilla/5.0",
            "complaintFeedbackType": "abuse",
        },
        "mail": _ses_mail(email),
    }


def brevo(email: str, *, event: str, reason: str, event_id: int) -> dict[str, Any]:
    return {
        "event": event,
        "email": email,
        "id": event_id,
        "date": "2026-03-01 08:00:04",
        "ts": 1772348404,
        "message-id": "<202603010700.12345678901@smtp-relay.mailin.fr>",
        "ts_event": 1772348404,
        "subject": "Your papers for 1 March",
        "X-Mailin-custom": '{"delivery_id": "42"}',
        "sending_ip": "185.41.28.109",
        "ts_epoch": 1772348404123 + event_id,
        "tags": ["digest"],
        "reason": reason,
    }


def sparkpost_bounce(
    email: str, *, bounce_class: str, raw_reason: str, event_id: str
) -> list[dict[str, Any]]:
    return [
        {
            "msys": {
                "message_event": {
                    "type": "bounce",
                    "bounce_class": bounce_class,
                    "campaign_id": "digest",
                    "customer_id": "1",
                    "delv_method": "esmtp",
                    "error_code": raw_reason[:3],
                    "event_id": event_id,
                    "friendly_from": "digest@paperboy.example.org",
                    "ip_address": "127.0.0.1",
                    "message_id": "0e0d94b7-9085-4e3c-ab30-e3f2cd9c273e",
                    "msg_from": "digest@paperboy.example.org",
                    "rcpt_meta": {"delivery_id": "42"},
                    "rcpt_to": email.lower(),
                    "raw_rcpt_to": email,
                    "raw_reason": raw_reason,
                    "reason": raw_reason,
                    "timestamp": "1772348404",
                    "transmission_id": "65832150921904138",
                }
            }
        }
    ]


def mailjet_bounce(email: str, *, hard: bool, error: str, smtp_reply: str) -> dict[str, Any]:
    return {
        "event": "bounce",
        "time": 1772348404,
        "MessageID": 13792286917004336,
        "Message_GUID": "1ab23cd4-e567-8901-2345-6789f0gh1i2j",
        "email": email,
        "mj_campaign_id": 0,
        "mj_contact_id": 0,
        "customcampaign": "",
        "CustomID": "",
        "Payload": '{"delivery_id": "42"}',
        "blocked": False,
        "hard_bounce": hard,
        "error_related_to": "recipient",
        "error": error,
        "comment": "",
        "smtp_reply": smtp_reply,
    }
