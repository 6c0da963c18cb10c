"""docker-compose.yml and the Dockerfile: the services, their commands, health and shared env.

No Docker engine is needed: the files are parsed and the app env is checked against
what config/settings.py reads, then loaded by the real settings module.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.urls import resolve

from tests.test_env_example import settings_variables

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "web", "worker", "beat")
_INTERPOLATION = re.compile(r"\$\{([A-Z_]+):-([^}]*)\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return parsed


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = compose["services"]
    return found


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def command(service: dict[str, Any]) -> str:
    value = service.get("command", "")
    return " ".join(value) if isinstance(value, list) else value


def healthcheck(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    return " ".join(test) if isinstance(test, list) else test


def resolved_env(service: dict[str, Any]) -> dict[str, str]:
    """The service's environment with ${VAR:-default} replaced by its default."""
    return {key: _INTERPOLATION.sub(r"\2", str(value)) for key, value in service["environment"].items()}


def test_the_stack_has_exactly_the_expected_services(services):
    assert set(services) == {"db", "redis", "mailpit", "migrate", "web", "worker", "beat"}


def _schema_check(path: Path) -> subprocess.CompletedProcess[str]:
    tool = Path(sys.executable).with_name("check-jsonschema")
    return subprocess.run(  # noqa: S603 - our own tool on a compose file
        [str(tool), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_file_is_valid_against_the_compose_specification():
    """check-jsonschema's own copy of the compose-spec schema (no network)."""
    result = _schema_check(ROOT / "docker-compose.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_file_fails_the_schema_check(tmp_path, compose):
    broken = dict(compose)
    broken["services"] = {**compose["services"], "web": {**compose["services"]["web"], "ports": "8000"}}
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    result = _schema_check(path)
    assert result.returncode != 0
    assert "ports" in result.stdout + result.stderr


def test_every_image_has_a_pinned_version(services):
    for name, service in services.items():
        image = service["image"]
        if name in APP_SERVICES:
            continue  # built here from the Dockerfile (whose base image is pinned, below)
        _, _, tag = image.partition(":")
        assert re.fullmatch(r"v?\d+\.\d+(\.\d+)?", tag), f"{name}: {image} has no version tag"


def test_database_and_redis_images_with_healthchecks(services):
    assert services["db"]["image"].startswith("postgres:16.")
    assert "pg_isready" in healthcheck(services["db"])
    assert services["redis"]["image"].startswith("redis:7.")
    assert "redis-cli ping" in healthcheck(services["redis"])


def test_the_worker_answers_pings_and_beat_proves_its_heartbeat(services):
    assert "celery -A config inspect ping --destination celery@$$HOSTNAME" in healthcheck(services["worker"])
    beat = healthcheck(services["beat"])
    assert "/app/var/beat-heartbeat" in beat
    assert "getmtime" in beat


def test_mailpit_catches_smtp_and_shows_its_web_ui(services):
    mailpit = services["mailpit"]
    assert mailpit["image"].split(":")[0] == "axllent/mailpit"
    published = " ".join(mailpit["ports"])
    assert "8025:8025" in published
    assert "1025:1025" in published


def test_web_worker_beat_and_migrate_share_one_image_and_one_env(services):
    images = {services[name]["image"] for name in APP_SERVICES}
    builds = {services[name]["build"] for name in APP_SERVICES}
    envs = [services[name]["environment"] for name in APP_SERVICES]

    assert images == {"paperboy:${PAPERBOY_VERSION:-dev}"}  # built here; a release sets its version
    assert builds == {"."}
    assert all(env == envs[0] for env in envs)


def test_commands_of_the_app_services(services):
    assert command(services["web"]).startswith("gunicorn config.wsgi:application --bind 0.0.0.0:8000")
    assert command(services["worker"]).startswith("celery -A config worker")
    assert command(services["beat"]).startswith("celery -A config beat")
    assert command(services["migrate"]) == "python manage.py migrate --no-input"


def test_exactly_one_beat_runs(services):
    beats = [name for name, service in services.items() if " beat" in command(service)]

    assert beats == ["beat"]
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    assert "scale" not in services["beat"]


def test_app_services_wait_for_healthy_db_and_redis_and_for_migrations(services):
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["db"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
    assert services["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"


def test_web_is_published_and_health_checked_on_the_healthz_route(services):
    web = services["web"]

    assert "8000:8000" in web["ports"]
    assert "http://127.0.0.1:8000/healthz/" in healthcheck(web)
    assert resolve("/healthz/").url_name == "healthz"
    assert resolve("/health/").url_name == "health"  # plain liveness, kept


def test_every_variable_the_stack_sets_is_read_by_the_settings(services):
    env = services["web"]["environment"]
    unknown = {name for name in env if name not in settings_variables() and not name.startswith("ANYMAIL_")}

    assert not unknown, f"docker-compose.yml sets variables settings.py never reads: {sorted(unknown)}"


def test_stack_env_is_production_with_smtp_to_mailpit_and_the_real_services(services):
    env = resolved_env(services["web"])

    assert env["PAPERBOY_ENV"] == "production"
    assert env["DEBUG"] == "false"
    assert env["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (env["EMAIL_HOST"], env["EMAIL_PORT"]) == ("mailpit", "1025")
    assert env["SECURE_SSL_REDIRECT"] == "false"
    assert env["DATABASE_URL"].startswith("postgres://paperboy:")
    assert "@db:5432/" in env["DATABASE_URL"]
    assert env["REDIS_URL"].startswith("redis://redis:6379/")
    assert "web" in env["ALLOWED_HOSTS"].split(",")
    assert env["ANYMAIL_WEBHOOK_SECRET"]


def test_db_password_matches_the_database_url(services):
    password = _INTERPOLATION.sub(r"\2", services["db"]["environment"]["POSTGRES_PASSWORD"])
    url = resolved_env(services["web"])["DATABASE_URL"]

    assert url == f"postgres://paperboy:{password}@db:5432/paperboy"
    assert services["db"]["environment"]["POSTGRES_DB"] == "paperboy"


def test_the_settings_start_with_the_stack_env(services, tmp_path):
    """DEBUG off refuses weak secrets: the stack's defaults must pass those checks."""
    env = {key: value for key, value in os.environ.items() if key not in settings_variables()}
    env.update(resolved_env(services["web"]))
    env["PAPERBOY_VAR_DIR"] = str(tmp_path)
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "from config.checks import production_problems; "
        "print(json.dumps([s.DEBUG, s.DATABASES['default']['HOST'], s.CELERY_BROKER_URL, "
        "s.EMAIL_HOST, s.SECURE_SSL_REDIRECT, s.CELERY_TASK_ALWAYS_EAGER, production_problems()]))"
    )
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr[-2000:]
    debug, db_host, broker, email_host, ssl_redirect, eager, problems = json.loads(
        result.stdout.strip().splitlines()[-1]
    )
    assert (debug, db_host, email_host, ssl_redirect, eager) == (False, "db", "mailpit", False, False)
    assert problems == [], "the stack would refuse to start (config/checks.py)"
    assert broker == "redis://redis:6379/0"


def test_dockerfile_builds_a_slim_non_root_image_from_the_lock_file(dockerfile):
    assert re.findall(r"^FROM\s+(\S+)", dockerfile, flags=re.MULTILINE) == ["python:3.11.11-slim-bookworm"]
    assert re.search(r"^HEALTHCHECK .*\n?.*http://127.0.0.1:8000/healthz/", dockerfile, flags=re.MULTILINE)
    assert "pip install -r requirements.txt -c requirements-lock.txt" in dockerfile
    users = re.findall(r"^USER\s+(\S+)", dockerfile, flags=re.MULTILINE)
    assert users
    assert users[-1] not in {"root", "0"}
    assert re.search(r'^CMD \["gunicorn", "config.wsgi:application"', dockerfile, flags=re.MULTILINE)


def test_dockerfile_collects_static_files_with_a_build_only_secret_the_settings_accept(dockerfile):
    step = dockerfile[dockerfile.index("RUN SECRET_KEY=") :].split("\n\n")[0]
    found = re.search(r"SECRET_KEY=(\S+)", step)
    assert found is not None
    secret = found.group(1)

    assert "collectstatic --no-input" in step
    assert "DEBUG=false" in step
    assert len(secret) >= 32
    assert not secret.startswith("django-insecure")
    assert "ANYMAIL_WEBHOOK_SECRET=" in step


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())

    assert {".git", ".venv", ".env", "var"} <= ignored
    assert "!.env.example" in ignored
