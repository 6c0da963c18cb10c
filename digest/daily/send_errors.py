"""What a failed send means: not sent and worth retrying, not sent for good, or unknown.

"Unknown" is the case exactly-once turns on: the request left, and no answer came back (a
read timeout, a connection dropped mid-exchange, an answer we could not read). The ESP may
have accepted the message, so it is never re-sent blindly (digest.daily.healing decides).
Everything that fails before the request could be delivered (refused or timed-out
connections, TLS handshakes, 4xx SMTP replies, 5xx and 429 HTTP answers) was not sent.
"""

from __future__ import annotations

import smtplib
import ssl
from enum import Enum

import requests
from anymail.exceptions import AnymailAPIError, AnymailInvalidAddress, AnymailRecipientsRefused
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NameResolutionError, NewConnectionError


class SendVerdict(Enum):
    RETRY = "not sent; try again later"
    PERMANENT = "not sent; never will be"
    UNKNOWN = "maybe sent"


class TransientSendError(Exception):
    """Try again later: the ESP or the network failed before the message could leave."""


class UnknownOutcomeError(Exception):
    """The send was interrupted after the message may have left (e.g. a time limit)."""


_CONNECT_FAILURES = (NewConnectionError, ConnectTimeoutError, NameResolutionError)


def _never_connected(error: requests.ConnectionError) -> bool:
    if isinstance(error, requests.ConnectTimeout | requests.exceptions.SSLError):
        return True
    inner = error.args[0] if error.args else None
    return isinstance(inner, MaxRetryError) and isinstance(inner.reason, _CONNECT_FAILURES)


def _http_verdict(error: AnymailAPIError) -> SendVerdict:
    status = error.status_code
    if status is not None:  # the ESP answered
        if 200 <= status < 300:  # accepted, but the answer was unreadable
            return SendVerdict.UNKNOWN
        return SendVerdict.RETRY if status == 429 or status >= 500 else SendVerdict.PERMANENT
    if isinstance(error, requests.RequestException):  # no answer: anymail re-raised requests' error
        cause = error.__cause__
        transport = cause if isinstance(cause, requests.RequestException) else error
        if isinstance(transport, requests.ConnectionError) and _never_connected(transport):
            return SendVerdict.RETRY
        return SendVerdict.UNKNOWN
    return SendVerdict.RETRY


def send_verdict(error: BaseException) -> SendVerdict:
    """The verdict on an exception raised while sending one message or one batch call."""
    if isinstance(error, UnknownOutcomeError):
        return SendVerdict.UNKNOWN
    if isinstance(error, TransientSendError):
        return SendVerdict.RETRY
    if isinstance(error, AnymailRecipientsRefused | AnymailInvalidAddress | smtplib.SMTPRecipientsRefused):
        return SendVerdict.PERMANENT
    if isinstance(error, AnymailAPIError):
        return _http_verdict(error)
    if isinstance(error, smtplib.SMTPConnectError | smtplib.SMTPHeloError | smtplib.SMTPAuthenticationError):
        return SendVerdict.RETRY  # before MAIL FROM: nothing was handed over
    if isinstance(error, smtplib.SMTPResponseException):
        return SendVerdict.RETRY if 400 <= error.smtp_code < 500 else SendVerdict.PERMANENT
    if isinstance(error, ssl.SSLError | ConnectionRefusedError):
        return SendVerdict.RETRY
    if isinstance(error, smtplib.SMTPServerDisconnected | TimeoutError | OSError):
        return SendVerdict.UNKNOWN  # the connection broke somewhere in the exchange
    return SendVerdict.PERMANENT
