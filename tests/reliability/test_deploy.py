"""Production settings: `check --deploy` is clean; HTTPS-only cookies, HSTS, secure headers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.celery_worker import needs_redis_and_postgres, test_database_url

ROOT = Path(__file__).resolve().parent.parent.parent

PROBE = """
import json
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client()
plain = client.get("/health/")
secure = client.get("/health/", secure=True)
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location", "")],
    "secure": [secure.status_code, dict(secure.headers)],
}))
"""


@pytest.fixture
def production_env(tmp_path: Path) -> dict[str, str]:
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "REDIS_URL", "ANYMAIL_", "DJANGO_ALLOW_ASYNC_UNSAFE"))
    }
    return {
        **keep,
        "PAPERBOY_ENV": "production",
        "DEBUG": "false",
        "SECRET_KEY": "x9-" + "k3Lq" * 16,
        "ANYMAIL_WEBHOOK_SECRET": "postmark:Zq8vN3kP1xWm7Rt4Yb2Lc9Hd6Fg5Js0A",
        # Never connected to by these probes (check and a few requests that touch no table).
        "DATABASE_URL": "postgres://paperboy@127.0.0.1:5432/paperboy_deploy_probe",
        "ALLOWED_HOSTS": "paperboy.example.org,testserver",
        "SITE_URL": "https://paperboy.example.org",
        "PAPERBOY_VAR_DIR": str(tmp_path),
        "REDIS_URL": "redis://127.0.0.1:6379/15",  # production shares rate limits through Redis
        "STATIC_MANIFEST": "false",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_check_deploy_reports_nothing_with_production_settings(production_env):
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production_env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_redirects_to_https_and_sends_hsts_and_secure_headers(production_env):
    result = _run(["-c", PROBE], production_env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    # /health/ is exempt from the redirect (load balancers probe it over plain HTTP).
    assert answer["plain"][0] == 200
    status, headers = answer["secure"]
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_production_cookies_are_https_only(production_env):
    probe = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.SECURE_SSL_REDIRECT, s.DEBUG]))"
    )
    result = _run(["-c", probe], production_env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [True, True, True, True, False]


def test_a_plain_http_page_redirects_to_https_in_production(production_env):
    probe = (
        "import django; django.setup(); from django.test.utils import setup_test_environment; "
        "setup_test_environment(); from django.test import Client; "
        "r = Client().get('/some/page/'); print(r.status_code, r['Location'])"
    )
    result = _run(["-c", probe], production_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["301", "https://testserver/some/page/"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"DEBUG": "true"}, "DEBUG cannot be on when PAPERBOY_ENV=production"),
        ({"SECRET_KEY": ""}, "set SECRET_KEY"),
        ({"SECRET_KEY": "django-insecure-" + "a" * 40}, "set SECRET_KEY"),
        ({"ANYMAIL_WEBHOOK_SECRET": ""}, "set ANYMAIL_WEBHOOK_SECRET"),
    ],
    ids=["debug-on", "no-secret-key", "insecure-secret-key", "dev-webhook-secret"],
)
def test_production_refuses_to_start_with_debug_or_default_secrets(production_env, change, message):
    result = _run(["manage.py", "check"], {**production_env, **change})
    assert result.returncode != 0
    assert message in result.stderr


def test_admin_needs_a_login_in_production(production_env):
    probe = (
        "import django; django.setup(); from django.test.utils import setup_test_environment; "
        "setup_test_environment(); from django.test import Client; "
        "r = Client().get('/admin/', secure=True); print(r.status_code, r['Location'])"
    )
    result = _run(["-c", probe], production_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["302", "/admin/login/?next=/admin/"]


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"DATABASE_URL": ""}, "paperboy.E101", "Production runs on SQLite"),
        ({"REDIS_URL": ""}, "paperboy.E102", "Production has no broker"),
        ({"ALLOWED_HOSTS": "*"}, "paperboy.E103", "ALLOWED_HOSTS contains '*'"),
        ({"ANYMAIL_WEBHOOK_SECRET": "a:b"}, "paperboy.E104", "ANYMAIL_WEBHOOK_SECRET is weak"),
        ({"ANYMAIL_WEBHOOK_SECRET": "user:" + "ab" * 20}, "paperboy.E104", "ANYMAIL_WEBHOOK_SECRET is weak"),
        ({"SITE_URL": "http://paperboy.example.org"}, "paperboy.E105", "is not https://"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8,not-an-ip"}, "paperboy.E106", "not an IP address or network"),
        (
            {"DIGEST_SEND_MODE": "batch", "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"},
            "paperboy.E107",
            "cannot send merge data",
        ),
        (
            {"DIGEST_STUCK_AFTER_MINUTES": "5", "CELERY_TASK_TIME_LIMIT": "360"},
            "paperboy.E108",
            "a claim could be taken from a sender that is still sending",
        ),
        (
            {"CELERY_VISIBILITY_TIMEOUT": "300", "CELERY_TASK_TIME_LIMIT": "360"},
            "paperboy.E109",
            "could hand a running send task to a second worker",
        ),
        (
            {"CELERY_TASK_SOFT_TIME_LIMIT": "400", "CELERY_TASK_TIME_LIMIT": "360"},
            "paperboy.E110",
            "is not below CELERY_TASK_TIME_LIMIT",
        ),
    ],
    ids=[
        "sqlite",
        "no-broker",
        "any-host",
        "short-secret",
        "plain-secret",
        "http-site",
        "bad-proxy",
        "batch-smtp",
        "lease-too-short",
        "visibility-too-short",
        "soft-above-hard",
    ],
)
def test_production_refuses_unsafe_settings_in_checks_and_at_server_start(
    production_env, change, error, message
):
    env = {**production_env, **change}
    deploy = _run(["manage.py", "check", "--deploy"], env)
    assert deploy.returncode != 0
    assert error in deploy.stderr
    assert message in deploy.stderr
    assert _run(["manage.py", "check"], env).returncode != 0  # what every command runs at its start
    server = _run(["-c", "import config.wsgi"], env)  # gunicorn's entry point
    assert server.returncode != 0
    assert "Paperboy refuses to start" in server.stderr
    assert message in server.stderr


def test_a_visibility_timeout_shorter_than_a_training_is_a_warning_not_a_refusal(production_env):
    env = {**production_env, "CELERY_VISIBILITY_TIMEOUT": "900", "CELERY_TASK_TIME_LIMIT": "360"}
    deploy = _run(["manage.py", "check", "--deploy"], env)
    assert deploy.returncode == 0
    assert "paperboy.W111" in deploy.stderr + deploy.stdout
    assert "could hand a long training to a second worker" in deploy.stderr + deploy.stdout
    assert _run(["-c", "import config.wsgi"], env).returncode == 0  # servers start


def test_a_celery_worker_refuses_to_start_with_unsafe_settings(production_env):
    env = {**production_env, "ANYMAIL_WEBHOOK_SECRET": "a:b"}
    worker = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode != 0
    assert "Paperboy refuses to start" in worker.stderr


def test_plain_http_is_accepted_only_for_a_loopback_site(production_env):
    local = _run(["manage.py", "check", "--deploy"], {**production_env, "SITE_URL": "http://localhost:8000"})
    assert "paperboy.E105" not in local.stderr
    lookalike = _run(
        ["manage.py", "check", "--deploy"], {**production_env, "SITE_URL": "http://localhost.example.org"}
    )
    assert "paperboy.E105" in lookalike.stderr


needs_services = needs_redis_and_postgres("for a server that starts")


@pytest.fixture
def reachable_env(production_env, transactional_db) -> dict[str, str]:
    """Production settings on the (migrated) test database and the tests' Redis."""
    return {**production_env, "DATABASE_URL": test_database_url(), "REDIS_URL": os.environ["REDIS_URL"]}


@needs_services
def test_the_server_starts_with_safe_production_settings(reachable_env):
    result = _run(["-c", "import config.wsgi; print('started')"], reachable_env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("started")


@needs_services
def test_a_server_without_collected_static_files_refuses_to_start_and_says_what_to_run(reachable_env):
    server = _run(["-c", "import config.wsgi"], {**reachable_env, "STATIC_MANIFEST": "true"})
    assert server.returncode != 0
    assert "Paperboy refuses to start" in server.stderr
    assert "Static files are not collected" in server.stderr
    assert "staticfiles.json is missing" in server.stderr
    assert "Run `python manage.py collectstatic --no-input`" in server.stderr


@needs_services
@pytest.mark.parametrize(
    ("change", "told"),
    [
        (
            {"DATABASE_URL": "postgres://paperboy@127.0.0.1:9/paperboy"},
            ["The database 127.0.0.1:9/paperboy does not answer", "Check DATABASE_URL", "manage.py migrate"],
        ),
        (
            {"REDIS_URL": "redis://127.0.0.1:9/0"},
            ["The broker redis://127.0.0.1:9/0 does not answer", "Check REDIS_URL"],
        ),
    ],
    ids=["database-down", "broker-down"],
)
def test_an_outage_at_start_is_reported_with_the_fix_and_the_server_starts_anyway(
    reachable_env, change, told
):
    """A worker respawned while the database or Redis restarts must come back by itself (gunicorn
    stops altogether when a worker cannot boot): said loudly, not fatal."""
    started = time.monotonic()
    server = _run(["-c", "import config.wsgi; print('started')"], {**reachable_env, **change})
    assert server.returncode == 0, server.stderr
    assert server.stdout.strip().endswith("started")
    assert "starting anyway, but:" in server.stderr
    for words in told:
        assert words in server.stderr
    assert time.monotonic() - started < 30


@needs_services
def test_unapplied_migrations_are_reported_with_the_command_to_run(reachable_env):
    import psycopg

    admin = test_database_url().rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute("DROP DATABASE IF EXISTS paperboy_start_probe")
        db.execute("CREATE DATABASE paperboy_start_probe")
    try:
        empty = {**reachable_env, "DATABASE_URL": admin.rsplit("/", 1)[0] + "/paperboy_start_probe"}
        worker_start = "from config.celery_app import _refuse_unsafe_start; _refuse_unsafe_start()"
        for probe in ("import config.wsgi", f"import django; django.setup(); {worker_start}"):
            server = _run(["-c", probe], empty)
            assert server.returncode != 0
            assert "migration(s) are not applied" in server.stderr
            assert "Run `python manage.py migrate`." in server.stderr
    finally:
        with psycopg.connect(admin, autocommit=True) as db:
            db.execute("DROP DATABASE IF EXISTS paperboy_start_probe")
