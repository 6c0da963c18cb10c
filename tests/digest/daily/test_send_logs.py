"""Every line logged while a chunk is sent names the chunk and the deliveries; LOG_FORMAT=json
makes each line one JSON object with those ids as fields."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import logging.config
from collections.abc import Iterator
from typing import cast

import pytest
import time_machine
from anymail.exceptions import AnymailAPIError
from django.conf import settings

from config.logcontext import ContextFilter
from digest.daily.sending import send_chunk
from tests.digest.daily import fake_esp

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)


@pytest.fixture
def esp(settings):
    settings.EMAIL_BACKEND = "tests.digest.daily.fake_esp.EmailBackend"
    fake_esp.reset()
    with time_machine.travel(NOW, tick=False):
        yield fake_esp


def _capture(formatter_name: str) -> tuple[logging.Handler, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(ContextFilter())
    formatters = cast(dict[str, dict[str, object]], settings.LOGGING["formatters"])
    conf = dict(formatters[formatter_name])
    handler.setFormatter(logging.config.DictConfigurator({}).configure_formatter(conf))
    return handler, out


@pytest.fixture
def logs(request) -> Iterator[io.StringIO]:
    handler, out = _capture(request.param)
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield out
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.mark.parametrize("logs", ["json"], indirect=True)
def test_json_lines_carry_the_chunk_and_delivery_ids(chunk, esp, logs):
    fake_esp.script["s2@example.com"] = [AnymailAPIError("422 bad address", status_code=422)]
    send_chunk(chunk, token="task-7f3a")
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    failure = next(line for line in lines if line["message"].startswith(f"delivery {chunk[2]} failed"))
    assert failure["level"] == "WARNING"
    assert failure["logger"] == "digest.daily.sending"
    assert failure["chunk_id"] == "task-7f3a"
    assert failure["delivery_id"] == str(chunk[2])
    summary = next(line for line in lines if line["message"].startswith("chunk sent"))
    assert summary["message"] == "chunk sent: 5 sent, 1 failed, 0 uncertain, 0 to retry"
    assert summary["chunk_id"] == "task-7f3a"
    assert summary["delivery_id"] == f"{chunk[0]}..{chunk[-1]} (6)"
    assert "context" not in summary
    assert all("time" in line for line in lines)


@pytest.mark.parametrize("logs", ["plain"], indirect=True)
def test_plain_lines_end_with_the_ids_and_lines_outside_a_send_do_not(chunk, esp, logs):
    fake_esp.script["s2@example.com"] = [AnymailAPIError("422 bad address", status_code=422)]
    send_chunk(chunk, token="task-7f3a")
    logging.getLogger("digest").info("after the send")
    lines = logs.getvalue().splitlines()
    failure = next(line for line in lines if f"delivery {chunk[2]} failed" in line)
    assert failure.endswith(f" [chunk=task-7f3a delivery={chunk[2]}]")
    assert lines[-1].endswith("digest: after the send")
