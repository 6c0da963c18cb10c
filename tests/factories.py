"""factory_boy factories shared by the whole suite."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import Model
from django.utils import timezone
from django.utils.timezone import now as _now
from factory.declarations import LazyFunction, Sequence, SubFactory
from factory.django import DjangoModelFactory
from factory.helpers import post_generation

from digest.models import Delivery, Paper, PaperTopic
from subscriptions.models import Subscriber, Topic

M = TypeVar("M", bound=Model)


class _ModelFactory(DjangoModelFactory[M]):
    """factory_boy's metaclass call is untyped; this tells mypy that calling a factory
    gives its model (create_batch and build are typed by factory_boy itself)."""

    class Meta:
        abstract = True

    if TYPE_CHECKING:

        def __new__(cls, *args: Any, **kwargs: Any) -> M: ...  # type: ignore[misc]


class TopicFactory(_ModelFactory[Topic]):
    class Meta:
        model = Topic
        django_get_or_create = ("slug",)

    name = Sequence(lambda n: f"Topic {n}")
    slug = Sequence(lambda n: f"topic-{n}")
    description = "A test topic."
    terms = LazyFunction(lambda: ["diffusion"])


class SubscriberFactory(_ModelFactory[Subscriber]):
    class Meta:
        model = Subscriber
        skip_postgeneration_save = True

    email = Sequence(lambda n: f"reader{n}@example.com")
    status = Subscriber.Status.ACTIVE
    delivery_hour = 7
    timezone = "UTC"
    papers_per_email = 10
    confirmed_at = LazyFunction(_now)

    @post_generation
    def topics(self: Subscriber, create: bool, extracted: list[Topic] | None, **kwargs: object) -> None:
        if not create or not extracted:
            return
        self.topics.set(extracted)
        self.topic_key = ",".join(str(t.pk) for t in sorted(extracted, key=lambda t: t.pk))
        self.save(update_fields=["topic_key"])


class PaperFactory(_ModelFactory[Paper]):
    class Meta:
        model = Paper

    paper_id = Sequence(lambda n: f"2501.{n:05d}")
    title = Sequence(lambda n: f"A study of things, part {n}")
    abstract = "We study things. We find results. More follows."
    authors = LazyFunction(lambda: ["Ada Lovelace", "Alan Turing", "Grace Hopper"])
    listed_on = LazyFunction(lambda: timezone.now().date())
    published_at = LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))
    source = Paper.Source.HF
    upvotes = 10


class PaperTopicFactory(_ModelFactory[PaperTopic]):
    class Meta:
        model = PaperTopic

    paper = SubFactory(PaperFactory)
    topic = SubFactory(TopicFactory)
    score = 1.0
    reason = "term: diffusion"


class DeliveryFactory(_ModelFactory[Delivery]):
    class Meta:
        model = Delivery

    subscriber = SubFactory(SubscriberFactory)
    digest_date = LazyFunction(lambda: timezone.now().date())
