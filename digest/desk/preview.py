"""Digest preview and test send for the admin: the same planner, edition and message
builder the dispatcher uses (digest.daily.editions / digest.daily.sending), so the preview is exactly
what goes out. A test send is marked "[TEST]", tagged "test" and never creates a Delivery.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from anymail.message import AnymailMessage
from django import forms
from django.db.models import Count
from django.utils import timezone

from digest.daily.assembly import assemble
from digest.daily.due import DueReader
from digest.daily.editions import Planner
from digest.daily.lists import PersonalList, list_for
from digest.daily.rendering import chips_for
from digest.daily.sending import build_digest_message
from digest.models import Edition, Feedback, Paper
from subscriptions.emails import normalize_email
from subscriptions.models import Subscriber, Topic

TEST_PREFIX = "[TEST] "
TEST_TAG = "test"


@dataclass
class DigestPreview:
    digest_date: dt.date
    subject: str
    from_email: str
    to: list[str]
    headers: dict[str, str]
    html: str
    text: str
    tags: list[str] = field(default_factory=list)
    papers: list[Paper] = field(default_factory=list)
    reader: Subscriber | None = None
    topics: list[Topic] = field(default_factory=list)
    edition: Edition | PersonalList | None = None
    # Why each paper is there: its topics, and for a personal list the reader's own reasons.
    why: list[tuple[Paper, list[str]]] = field(default_factory=list)
    interests: dict[str, list[str]] = field(default_factory=dict)
    feedback: dict[str, int] = field(default_factory=dict)


class PreviewForm(forms.Form):
    digest_date = forms.DateField(label="Digest date", help_text="YYYY-MM-DD, the reader's local date.")
    email = forms.CharField(label="Reader's email", required=False, help_text="Preview one reader's digest…")
    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="…or the digest for a set of topics.",
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        email, topics = (data.get("email") or "").strip(), data.get("topics")
        if bool(email) == bool(topics):
            raise forms.ValidationError("Choose either a reader or a set of topics.")
        if email:
            try:
                data["reader"] = Subscriber.objects.get(email=normalize_email(email))
            except (Subscriber.DoesNotExist, ValueError):
                self.add_error("email", "No reader has this email address.")
        return data


def _stand_in_reader(topics: Sequence[Topic], email: str) -> Subscriber:
    """An unsaved reader of `topics`, for previewing a topic set (its links lead nowhere)."""
    reader = Subscriber(email=email, status=Subscriber.Status.ACTIVE)
    reader.topic_key = ",".join(str(t.pk) for t in sorted(topics, key=lambda t: t.pk))
    return reader


class NothingToSend(Exception):
    """The reader would get no digest that day (no new papers for their topics)."""


def preview_digest(
    *,
    digest_date: dt.date,
    reader: Subscriber | None = None,
    topics: Sequence[Topic] = (),
    stand_in_email: str = "reader@example.com",
) -> tuple[DigestPreview, AnymailMessage]:
    """Plan, render and build a reader's (or a topic set's) digest exactly as the dispatcher would.

    A shared edition is looked up or stored by content key, the same get-or-create the
    dispatcher uses, so the dispatcher later sends this very edition; a reader's personal list
    is put together in memory, as the dispatcher would store it. Sends nothing; creates no
    Delivery.
    Raises NothingToSend on a quiet day.
    """
    target = reader if reader is not None else _stand_in_reader(topics, stand_in_email)
    due = DueReader.for_subscriber(target, digest_date)
    planner = Planner(now=timezone.now())
    (plan,) = planner.plan([due])
    if not plan.key:
        raise NothingToSend("no new papers for these topics on that date")
    edition: Edition | PersonalList | None
    if plan.why is None:
        edition = Edition.objects.get(pk=planner.editions_for([plan])[(digest_date, plan.key)])
    else:  # a reader's own list: put together in memory, never stored (it would outlive them)
        edition = list_for(planner.unstored_list(plan), due.pk)
    if edition is None:
        raise NothingToSend("the personal list could not be put together")
    assemble([edition])
    message = build_digest_message(rendered_or_edition=edition, subscriber=target)
    html = next((str(content) for content, mimetype in message.alternatives if mimetype == "text/html"), "")
    papers = Paper.objects.in_bulk(edition.paper_ids)
    preview = DigestPreview(
        digest_date=digest_date,
        subject=edition.subject,
        from_email=message.from_email,
        to=list(message.to),
        headers=dict(message.extra_headers),
        html=html,
        text=str(message.body),
        tags=list(message.tags or []),
        papers=[papers[pid] for pid in edition.paper_ids if pid in papers],
        reader=reader,
        topics=list(topics) if reader is None else list(reader.topics.order_by("position", "name")),
        edition=edition,
    )
    preview.why = _why(edition, preview.papers)
    if reader is not None:
        preview.interests = {
            "Keywords": list(reader.keywords),
            "Followed authors": list(reader.authors),
            "Excluded words": list(reader.exclude_words),
        }
        counts = dict(
            Feedback.objects.filter(subscriber=reader).values_list("value").annotate(n=Count("pk")).order_by()
        )
        preview.feedback = {"more like this": counts.get(1, 0), "less like this": counts.get(-1, 0)}
    return preview, message


def _why(edition: Edition | PersonalList, papers: Sequence[Paper]) -> list[tuple[Paper, list[str]]]:
    """Each paper with why it is in this edition: topic names, then a personal list's reasons."""
    if isinstance(edition, PersonalList):
        stored = (edition.reasons or {}).get("papers") or {}
        return [
            (
                p,
                [
                    *(stored.get(str(p.pk)) or {}).get("chips", []),
                    *(stored.get(str(p.pk)) or {}).get("why", []),
                ],
            )
            for p in papers
        ]
    topic_ids = [int(t) for t in edition.topic_key.split(",") if t.strip().isdigit()]
    chips = chips_for(papers, Topic.objects.filter(pk__in=topic_ids))
    return [(p, [f"topic: {name}" for name in chips.get(p.pk, [])]) for p in papers]


def build_test_message(*, preview: DigestPreview, to_email: str) -> AnymailMessage:
    """The previewed edition, built by the pipeline's own builder in test mode ("[TEST]", tag
    "test", no delivery id) for `to_email`. Its personal links belong to a stand-in reader, so
    clicking "unsubscribe" in a test never unsubscribes the previewed reader."""
    if preview.edition is None:
        raise NothingToSend("this preview has no stored edition to send")
    stand_in = _stand_in_reader(preview.topics, to_email)
    if preview.reader is not None:
        stand_in.topic_key = preview.reader.topic_key
    message = build_digest_message(rendered_or_edition=preview.edition, subscriber=stand_in, test=True)
    message.to = [to_email]
    return message


def send_test_digest(*, preview: DigestPreview, to_email: str) -> AnymailMessage:
    """Mail the previewed digest to a staff address, marked as a test. Creates no Delivery;
    ValueError when there is no address."""
    if not to_email:
        raise ValueError("your user account has no email address")
    message = build_test_message(preview=preview, to_email=to_email)
    if not message.subject.startswith(TEST_PREFIX):
        message.subject = TEST_PREFIX + message.subject
    message.send()
    return message
