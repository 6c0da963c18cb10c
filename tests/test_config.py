"""Settings, schedules and the Celery app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from django.conf import settings

from config.celery_app import app

ROOT = Path(__file__).resolve().parent.parent


def test_every_scheduled_task_is_registered():
    app.autodiscover_tasks(force=True)
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, f"beat entry {name} names an unknown task"


def _start_django(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_debug_off_refuses_to_start_without_a_real_secret_key():
    result = _start_django({"DEBUG": "false"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_debug_on():
    result = _start_django({"PAPERBOY_ENV": "production", "DEBUG": "true", "SECRET_KEY": "x" * 50})
    assert result.returncode != 0
    assert "DEBUG cannot be on" in result.stderr


def test_production_starts_with_real_secrets():
    result = _start_django(
        {
            "PAPERBOY_ENV": "production",
            "SECRET_KEY": "k" * 50,
            "ANYMAIL_WEBHOOK_SECRET": "hook:secret-value",
        }
    )
    assert result.returncode == 0, result.stderr


def test_beat_start_dispatches_once_to_catch_up(monkeypatch, settings):
    import importlib

    settings.DEBUG = True  # development: no start checks (they need the database and broker)
    celery_app = importlib.import_module("config.celery_app")
    sent: list[str] = []
    monkeypatch.setattr(celery_app.app, "send_task", lambda name, *a, **kw: sent.append(name))
    celery_app.beat_init.send(sender=None)
    assert sent == ["digest.tasks.dispatch_due_digests"]
