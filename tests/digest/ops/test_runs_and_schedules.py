"""Job runs recorded by the scheduled tasks; periodic tasks in the database, never overwritten."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from config.beat import PaperboyScheduler
from config.celery_app import app
from digest.models import JobRun
from digest.ops.runs import recorded
from digest.ops.schedules import install_default_schedules
from digest.tasks import dispatch_due_digests, ingest_daily_papers

pytestmark = pytest.mark.django_db

PAYLOADS = Path(__file__).parents[1] / "catalog" / "payloads"
DAY = dt.date(2025, 6, 3)


def test_an_ingest_that_stores_papers_is_a_success_with_its_count(hf):
    hf.expect_request("/api/daily_papers").respond_with_data(
        (PAYLOADS / "day_normal.json").read_text(), content_type="application/json"
    )
    ingest_daily_papers.delay(DAY.isoformat())
    run = JobRun.objects.get()
    assert (run.kind, run.ok, run.error) == (JobRun.Kind.INGEST_HF, True, "")
    assert run.items == 3
    assert run.finished_at >= run.started_at


def test_an_api_that_fails_is_a_failed_run_with_the_reason(hf):
    hf.expect_request("/api/daily_papers").respond_with_data("down", status=503)
    ingest_daily_papers.delay(DAY.isoformat())
    run = JobRun.objects.get()
    assert run.ok is False
    assert "503" in run.error


def test_an_exception_is_recorded_and_raised():
    with pytest.raises(RuntimeError), recorded(JobRun.Kind.DISPATCH):
        raise RuntimeError("planner broke")
    run = JobRun.objects.get()
    assert (run.ok, run.error) == (False, "RuntimeError: planner broke")


def test_the_dispatch_task_records_the_digests_it_queued():
    dispatch_due_digests.delay()
    run = JobRun.objects.get()
    assert (run.kind, run.ok, run.items) == (JobRun.Kind.DISPATCH, True, 0)


@pytest.mark.django_db(transaction=True)  # beat's scheduler closes stale connections itself
def test_defaults_are_installed_once_and_an_operators_change_is_kept(settings):
    PeriodicTask.objects.all().delete()
    created = install_default_schedules()
    assert sorted(created) == sorted(settings.CELERY_BEAT_SCHEDULE)
    dispatch = PeriodicTask.objects.get(name="dispatch-due-digests")
    assert dispatch.task == "digest.tasks.dispatch_due_digests"
    assert (dispatch.crontab.minute, dispatch.crontab.hour, dispatch.crontab.day_of_week) == ("0", "*", "*")
    arxiv = PeriodicTask.objects.get(name="ingest-arxiv").crontab
    assert (arxiv.minute, arxiv.hour, arxiv.day_of_week) == ("40", "0,1", "mon-fri")

    # An operator moves the HF ingest to 06:05 and pauses healing, in admin.
    ingest = PeriodicTask.objects.get(name="ingest-daily-papers")
    ingest.crontab = CrontabSchedule.objects.create(minute="5", hour="6", timezone="UTC")
    ingest.save()
    PeriodicTask.objects.filter(name="heal-deliveries").update(enabled=False)

    assert install_default_schedules() == []
    scheduler = PaperboyScheduler(app=app, lazy=True)
    scheduler.setup_schedule()  # what beat does when it starts
    ingest.refresh_from_db()
    assert (ingest.crontab.minute, ingest.crontab.hour) == ("5", "6")
    assert PeriodicTask.objects.get(name="heal-deliveries").enabled is False
    beat_sees = scheduler.all_as_schedule()  # (crontab tasks due in other hours are left out)
    assert "dispatch-due-digests" in beat_sees  # every hour
    assert "heal-deliveries" not in beat_sees  # paused
    assert PaperboyScheduler.Entry(ingest, app=app).schedule.hour == {6}
    assert json.loads(PeriodicTask.objects.get(name="dispatch-due-digests").args) == []


def test_the_desk_schedule_page_lists_the_database_tasks_with_links(client, admin_user):
    install_default_schedules()
    PeriodicTask.objects.filter(name="heal-deliveries").update(enabled=False)
    client.force_login(admin_user)
    body = client.get("/admin/desk/schedules/").content.decode()
    assert "every hour at :00" in body
    assert "no — paused" in body
    task = PeriodicTask.objects.get(name="dispatch-due-digests")
    change = f"/admin/django_celery_beat/periodictask/{task.pk}/change/"
    assert change in body
    assert client.get("/admin/django_celery_beat/periodictask/").status_code == 200
    form = client.get(change)
    assert form.status_code == 200
    assert "digest.tasks.dispatch_due_digests" in form.content.decode()
