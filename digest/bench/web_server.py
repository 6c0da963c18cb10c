"""gunicorn for the web load test: the project's WSGI app with DEBUG off (as in production),
on a free loopback port, against this process's database and cache settings."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_env() -> dict[str, str]:
    """This process's environment, with what a production-like start needs on loopback."""
    env = dict(os.environ)
    env.update(
        DEBUG="false",
        SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(48),
        ANYMAIL_WEBHOOK_SECRET=os.environ.get("ANYMAIL_WEBHOOK_SECRET")
        or f"bench:{secrets.token_urlsafe(24)}",
        SECURE_SSL_REDIRECT="false",
        STATIC_MANIFEST="false",  # no collectstatic needed for pages served to a load tool
        DATABASE_URL=os.environ.get("DATABASE_URL", ""),
    )
    env.pop("PAPERBOY_ENV", None)
    return env


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/health/", timeout=2) as answer:  # noqa: S310 - loopback
            return bool(answer.status == 200)
    except OSError:
        return False


@contextmanager
def gunicorn(workers: int, *, log: Path) -> Iterator[str]:
    """Run gunicorn with `workers` sync workers until the block ends; yields its base URL."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", str(workers),
        "--bind", f"127.0.0.1:{port}", "--backlog", "2048", "--log-level", "warning",
    ]  # fmt: skip
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        server = subprocess.Popen(command, cwd=settings.BASE_DIR, env=server_env(), stdout=out, stderr=out)  # noqa: S603
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _ready(base):
            if server.poll() is not None or time.monotonic() > deadline:
                raise CommandError(f"gunicorn did not start (see {log})")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
