"""What the drill runs on: its servers' settings (as environment for a child process, since
settings are read once at start) and a day of readers who are all due now."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo

from django.utils import timezone

from digest.bench import data
from digest.drill.servers import PostgresCluster, RedisServer
from subscriptions.models import Subscriber

DATABASE = "paperboy_drill"
# Set in the child: "pg_port,pg_data,pg_bindir,redis_port,web_port,esp_port,root".
CHILD = "PAPERBOY_FAULT_DRILL"
ESP_TOKEN = "drill-server-token"  # noqa: S105 - what the stand-in is sent, checked by nobody


def child_environment(
    postgres: PostgresCluster, redis: RedisServer, *, root: Path, esp_port: int, web_port: int
) -> dict[str, str]:
    """Settings of the drill's own world, scaled so a simulated hour takes seconds: the
    workers' hard time limit (10 s) stays below the claim lease and the visibility timeout,
    as the system checks require."""
    return {
        CHILD: ",".join(
            map(str, (postgres.port, postgres.data, postgres.bindir, redis.port, web_port, esp_port, root))
        ),
        "CACHE_URL": redis.url(),
        "DATABASE_URL": postgres.url(DATABASE),
        "REDIS_URL": redis.url(),
        "CELERY_BROKER_URL": redis.url(),
        "PAPERBOY_VAR_DIR": str(root / "var"),
        "SITE_URL": f"http://127.0.0.1:{web_port}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
        "ANYMAIL_POSTMARK_SERVER_TOKEN": ESP_TOKEN,
        "ANYMAIL_POSTMARK_API_URL": f"http://127.0.0.1:{esp_port}/",
        "ANYMAIL_REQUESTS_TIMEOUT": "1,2",
        "ANYMAIL_WEBHOOK_SECRET": f"drill:{secrets.token_urlsafe(24)}",
        "DIGEST_SEND_MODE": "per-message",
        "DIGEST_CHUNK_SIZE": "25",
        "DIGEST_RETRY_BACKOFF": "1",
        "DIGEST_BREAKER_COOLDOWN": "1",
        "CELERY_TASK_SOFT_TIME_LIMIT": "8",
        "CELERY_TASK_TIME_LIMIT": "10",
        "CELERY_VISIBILITY_TIMEOUT": "12",
        "PYTHONUNBUFFERED": "1",
    }


def morning_zone(now: dt.datetime) -> str:
    """A whole-hour zone where it is 06:00-ish now: readers there are due (delivery hour 0)
    and their day does not end during the drill."""
    offset = 6 - now.astimezone(dt.UTC).hour
    if offset < -12:
        offset += 24
    if offset > 14:
        offset -= 24
    # Etc/GMT zones carry the POSIX sign: Etc/GMT-3 is three hours ahead of UTC.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def make_readers(count: int) -> str:
    """`count` confirmed daily readers due now, and papers for their topics listed on their
    local day; the zone used."""
    zone = morning_zone(timezone.now())
    if not Subscriber.objects.exists():
        day = timezone.now().astimezone(ZoneInfo(zone)).date()
        spec = data.Spec(readers=count, topics=8, papers=120, topics_per_reader=2, topic_sets=40)
        data.generate(spec, day=day)
    Subscriber.objects.update(frequency=Subscriber.Frequency.DAILY, delivery_hour=0, timezone=zone)
    return zone
