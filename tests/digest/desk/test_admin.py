"""The editor's desk in admin: pages, list, actions, topic preview, kill switch."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.core import mail
from django.http.response import HttpResponseRedirectBase
from django.urls import reverse

from digest.catalog import freshness
from digest.models import Delivery, Edition, Paper, PaperSnapshot, PaperTopic, SendingSettings
from digest.ops.schedules import install_default_schedules
from subscriptions import signup_page
from subscriptions.models import Topic
from tests.factories import DeliveryFactory, PaperFactory, PaperTopicFactory, SubscriberFactory, TopicFactory

if TYPE_CHECKING:
    from django.test import Client
    from django.test.client import _MonkeyPatchedWSGIResponse

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)
NOON = dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC)

DESK_PAGES = [
    "admin:index",
    "admin:digest_paper_changelist",
    "admin:subscriptions_topic_changelist",
    "admin:subscriptions_subscriber_changelist",
    "admin:digest_delivery_changelist",
    "admin:digest_edition_changelist",
    "admin:digest_dashboard",
    "admin:digest_schedules",
    "admin:digest_preview",
]


@pytest.fixture(autouse=True)
def _noon():
    with time_machine.travel(NOON, tick=False):
        yield


@pytest.fixture
def editor(client):
    user = get_user_model().objects.create_superuser("editor", "editor@example.com", "pw")
    client.force_login(user)
    return user


@pytest.fixture
def topic():
    return TopicFactory(name="Diffusion", slug="diffusion", terms=["diffusion"])


def _paper(topic, **kwargs) -> Paper:
    paper = PaperFactory(listed_on=kwargs.pop("listed_on", TODAY), **kwargs)
    PaperTopicFactory(paper=paper, topic=topic)
    return paper


def _act(client: Client, action: str, papers: list[Paper], **extra: str) -> _MonkeyPatchedWSGIResponse:
    data = {"action": action, "_selected_action": [p.pk for p in papers], **extra}
    return client.post(reverse("admin:digest_paper_changelist"), data)


@pytest.mark.parametrize("name", DESK_PAGES)
def test_desk_pages_render_for_staff(client, editor, topic, name):
    _paper(topic, upvotes=3)
    response = client.get(reverse(name))
    assert response.status_code == 200


@pytest.mark.parametrize("name", DESK_PAGES)
def test_desk_pages_send_anyone_else_to_the_login(client, name):
    reader = get_user_model().objects.create_user("reader", "reader@example.com", "pw")
    client.force_login(reader)
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
    client.logout()
    assert client.get(reverse(name)).status_code == 302


def test_paper_list_opens_on_the_latest_day_ordered_by_trending_score(client, editor, topic):
    _paper(topic, title="Yesterday's hit", upvotes=900, listed_on=TODAY - dt.timedelta(days=1))
    low = _paper(topic, title="Low paper", upvotes=2)
    high = _paper(topic, title="High paper", upvotes=80)
    PaperSnapshot.objects.create(paper=high, taken_at=NOON - dt.timedelta(hours=6), upvotes=50)
    PaperSnapshot.objects.create(paper=high, taken_at=NOON, upvotes=80)

    response = client.get(reverse("admin:digest_paper_changelist"))

    shown = list(response.context["cl"].result_list)
    assert shown == [high, low]
    body = response.content.decode()
    assert "80 (+30)" in body
    assert "Diffusion" in body


def test_paper_list_shows_scores_to_three_digits_and_marks_only_hidden_papers(client, editor, topic):
    _paper(topic, title="Shown paper", upvotes=40)
    _paper(topic, title="Kept back", upvotes=3, hidden=True)
    response = client.get(reverse("admin:digest_paper_changelist"), {"hidden__exact": "1"})
    assert re.search(r'<td class="field-hidden_state">hidden</td>', response.content.decode())
    body = client.get(reverse("admin:digest_paper_changelist")).content.decode()
    cells = re.findall(r'<td class="field-hidden_state">(.*?)</td>', body)
    assert sorted(cell == "hidden" for cell in cells) == [False, True]
    assert not any("icon" in cell for cell in cells)
    assert "icon-no.svg" not in body
    scores = re.findall(r'<td class="field-score">([^<]+)</td>', body)
    assert len(scores) == 2
    for shown in scores:  # three significant digits, however small the score
        assert shown == f"{float(shown):#.3g}"
        assert len(shown.lstrip("0.").replace(".", "").split("e")[0]) == 3, shown


def test_paper_list_runs_a_fixed_number_of_queries(client, editor, topic, django_assert_max_num_queries):
    for n in range(3):
        _paper(topic, upvotes=n)
    with django_assert_max_num_queries(20) as few:
        client.get(reverse("admin:digest_paper_changelist"))
    for n in range(30):
        paper = _paper(topic, upvotes=n)
        PaperSnapshot.objects.create(paper=paper, taken_at=NOON, upvotes=n)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("admin:digest_paper_changelist"))


def test_paper_list_filters_and_search(client, editor, topic):
    other = TopicFactory(name="Robotics", slug="robotics", terms=["robot"])
    old = _paper(topic, title="Old diffusion", listed_on=TODAY - dt.timedelta(days=3))
    robot = _paper(other, title="Robot hands", authors=["Katherine Johnson"])
    url = reverse("admin:digest_paper_changelist")

    assert list(client.get(url, {"day": "all", "q": "johnson"}).context["cl"].result_list) == [robot]
    assert list(client.get(url, {"day": "all", "topic": other.pk}).context["cl"].result_list) == [robot]
    assert list(client.get(url, {"day": old.listed_on.isoformat()}).context["cl"].result_list) == [old]
    assert client.get(url, {"day": "not-a-day"}).status_code == 302  # admin's "?e=1" error page


def test_pin_and_hide_actions_call_the_services_and_are_logged(client, editor, topic):
    paper = _paper(topic)
    _act(client, "pin", [paper])
    _act(client, "hide", [paper])
    paper.refresh_from_db()
    assert paper.pinned
    assert paper.hidden
    messages = LogEntry.objects.filter(object_id=str(paper.pk)).values_list("change_message", flat=True)
    assert set(messages) == {"Pinned.", "Hidden from digests."}

    _act(client, "unpin", [paper])
    _act(client, "unhide", [paper])
    paper.refresh_from_db()
    assert not paper.pinned
    assert not paper.hidden


def test_pin_for_a_date_range_asks_for_the_dates_first(client, editor, topic):
    paper = _paper(topic)
    form = _act(client, "pin_range", [paper])
    assert form.status_code == 200
    assert "Pin for a date range" in form.content.decode()

    bad = _act(client, "pin_range", [paper], apply="1", start="2026-11-25", end="2026-11-24")
    assert "must end on or after" in bad.content.decode()
    paper.refresh_from_db()
    assert not paper.pinned

    done = _act(client, "pin_range", [paper], apply="1", start="2026-11-24", end="2026-11-26")
    assert done.status_code == 302
    paper.refresh_from_db()
    assert (paper.pinned, paper.pinned_from, paper.pinned_until) == (
        True,
        dt.date(2026, 11, 24),
        dt.date(2026, 11, 26),
    )


def test_editor_note_action_sets_the_note(client, editor, topic):
    paper = _paper(topic)
    assert _act(client, "editor_note", [paper]).status_code == 200
    _act(client, "editor_note", [paper], apply="1", note="Read the ablations.")
    paper.refresh_from_db()
    assert paper.editor_note == "Read the ablations."


def test_change_form_routes_editor_fields_through_the_services(client, editor, topic):
    paper = _paper(topic, title="Original title")
    url = reverse("admin:digest_paper_change", args=[paper.pk])
    data = client.get(url).context["adminform"].form.initial
    post = {k: v for k, v in data.items() if v is not None and not isinstance(v, list)}
    post.update(
        paper_id=paper.paper_id,
        title="Better title",
        authors='["Ada Lovelace"]',
        ai_keywords="[]",
        categories="[]",
        listed_on=TODAY.isoformat(),
        published_at_0="",
        published_at_1="",
        pinned="on",
        pinned_from="2026-11-23",
        pinned_until="2026-11-22",
        editor_note="A note",
    )
    bad = client.post(url, post)
    assert bad.status_code == 200
    assert "must end on or after" in bad.content.decode()
    post["pinned_until"] = "2026-11-30"
    assert client.post(url, post).status_code == 302
    paper.refresh_from_db()
    assert (paper.title, paper.pinned, paper.pinned_until, paper.editor_note) == (
        "Better title",
        True,
        dt.date(2026, 11, 30),
        "A note",
    )
    logged = set(LogEntry.objects.filter(object_id=str(paper.pk)).values_list("change_message", flat=True))
    assert "Editor's note set: A note" in logged
    assert any(m.startswith("Pinned from 2026-11-23") for m in logged)
    assert "title" in paper.locked_fields  # the next ingest keeps the editor's title
    assert "pinned" not in paper.locked_fields  # editor fields are the editor's anyway


def test_fix_topics_page_sets_manual_matches(client, editor, topic):
    robotics = TopicFactory(name="Robotics", slug="robotics", terms=["robot"])
    paper = _paper(topic)
    url = reverse("admin:digest_paper_topics", args=[paper.pk])
    assert client.get(url).status_code == 200
    redirect = _act(client, "fix_topics", [paper])
    assert isinstance(redirect, HttpResponseRedirectBase)
    assert redirect.url == url

    client.post(url, {"topics": [robotics.pk]})

    rows = {r.topic.slug: r for r in PaperTopic.objects.filter(paper=paper).select_related("topic")}
    assert rows["robotics"].manual
    assert not rows["robotics"].excluded
    assert rows["diffusion"].manual
    assert rows["diffusion"].excluded


def test_topic_preview_shows_gains_and_losses_without_saving(client, editor, topic):
    kept = PaperFactory(title="Diffusion for audio", abstract="Diffusion.")
    gained = PaperFactory(title="Flow matching at scale", abstract="Flow matching.")
    PaperTopic.objects.create(paper=kept, topic=topic, score=1.0)
    url = reverse("admin:subscriptions_topic_change", args=[topic.pk])
    post = {
        "name": topic.name,
        "slug": topic.slug,
        "description": "",
        "terms": "diffusion\nflow matching",
        "exclude_terms": "",
        "categories": "",
        "hf_keywords": "",
        "is_active": "on",
        "position": "0",
        "_preview": "Preview changes",
    }
    response = client.post(url, post)

    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview.gained == [gained]
    assert {m.paper for m in preview.matches} == {kept, gained}
    assert "Flow matching at scale" in response.content.decode()
    topic.refresh_from_db()
    assert topic.terms == ["diffusion"]


def test_topic_preview_reports_bad_rules(client, editor, topic):
    url = reverse("admin:subscriptions_topic_change", args=[topic.pk])
    post = {"name": topic.name, "slug": topic.slug, "terms": "", "categories": "not a category"}
    response = client.post(url, {**post, "position": "0", "_preview": "1"})
    assert response.status_code == 200
    assert response.context["preview"] is None
    assert "arXiv category" in response.content.decode()


def test_saving_topic_rules_rematches_after_commit(client, editor, topic, django_capture_on_commit_callbacks):
    paper = PaperFactory(title="Flow matching at scale", abstract="Flow matching.")
    url = reverse("admin:subscriptions_topic_change", args=[topic.pk])
    post = {"name": topic.name, "slug": topic.slug, "terms": "flow matching", "position": "0"}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert client.post(url, post).status_code == 302
    page_caches = (freshness._new_generation, signup_page._new_topics_version)
    rematches = [c for c in callbacks if c not in page_caches]
    assert len(rematches) == 1
    assert PaperTopic.objects.filter(paper=paper, topic=topic).exists()


def test_topic_list_counts_active_readers(client, editor, topic):
    SubscriberFactory.create_batch(2, topics=[topic])
    SubscriberFactory(topics=[topic], status="unsubscribed")
    response = client.get(reverse("admin:subscriptions_topic_changelist"))
    row = next(t for t in response.context["cl"].result_list if t.pk == topic.pk)
    assert row.n_readers == 2
    assert Topic.objects.count() == 1


def test_kill_switch_is_a_singleton_and_shows_a_banner(client, editor):
    list_url = reverse("admin:digest_sendingsettings_changelist")
    change_url = reverse("admin:digest_sendingsettings_change", args=[1])
    assert client.get(list_url).url == change_url
    assert "sending-paused-banner" not in client.get(reverse("admin:index")).content.decode()

    client.post(change_url, {"sending_paused": "on", "paused_reason": "bad batch"})

    assert SendingSettings.load().sending_paused
    index = client.get(reverse("admin:index")).content.decode()
    assert "sending-paused-banner" in index
    assert "bad batch" in index
    assert client.get(reverse("admin:digest_sendingsettings_add")).status_code == 403


def test_failed_delivery_shows_its_error(client, editor):
    DeliveryFactory(status=Delivery.Status.FAILED, error="550 mailbox unavailable")
    body = client.get(reverse("admin:digest_delivery_changelist"), {"status": "failed"}).content.decode()
    assert "550 mailbox unavailable" in body


def test_schedules_page_lists_the_beat_schedule_in_words(client, editor):
    install_default_schedules()  # (a data migration writes them; a flushing test may have removed them)
    body = client.get(reverse("admin:digest_schedules")).content.decode()
    assert "digest.tasks.dispatch_due_digests" in body
    assert "every hour at :00" in body


def test_retry_action_resends_a_failed_delivery(
    client, editor, anymail_backend, django_capture_on_commit_callbacks
):
    edition = Edition.objects.create(
        digest_date=TODAY, content_key="k", subject="Papers", html="<p>x</p>", text="x"
    )
    failed = DeliveryFactory(status=Delivery.Status.FAILED, error="SMTP 451", edition=edition)
    data = {"action": "retry", "_selected_action": [failed.pk]}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:digest_delivery_changelist"), data)
    failed.refresh_from_db()
    assert failed.status == Delivery.Status.SENT
    assert len(mail.outbox) == 1


def test_delivery_list_runs_a_fixed_number_of_queries(client, editor, django_assert_max_num_queries):
    edition = Edition.objects.create(digest_date=TODAY, content_key="k", subject="Papers", html="x", text="x")
    DeliveryFactory.create_batch(2, edition=edition)
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("admin:digest_delivery_changelist"))
    DeliveryFactory.create_batch(20, edition=edition)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("admin:digest_delivery_changelist"))


def test_the_paper_change_form_shows_every_form_field_once_and_only_those():
    from django.contrib import admin as django_admin

    from digest.desk.paper_forms import PaperAdminForm
    from digest.models import Paper

    model_admin = django_admin.site.get_model_admin(Paper)
    fieldsets = model_admin.fieldsets
    assert fieldsets is not None
    shown = [name for _, options in fieldsets for name in options["fields"]]
    assert len(shown) == len(set(shown))
    editable = [name for name in shown if name not in model_admin.readonly_fields]
    # django-stubs declares ModelForm._meta per instance; the form's metaclass sets it on the class.
    form_fields = PaperAdminForm._meta.fields  # type: ignore[misc]
    assert form_fields is not None
    assert sorted(editable) == sorted(form_fields)
