"""factory_boy factories shared by the whole suite."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone
from django.utils.timezone import now as _now

from digest.models import Delivery, Paper, PaperTopic
from subscriptions.models import Subscriber, Topic


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Topic {n}")
    slug = factory.Sequence(lambda n: f"topic-{n}")
    description = "A test topic."
    terms = factory.LazyFunction(lambda: ["diffusion"])


class SubscriberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscriber
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"reader{n}@example.com")
    status = Subscriber.Status.ACTIVE
    delivery_hour = 7
    timezone = "UTC"
    papers_per_email = 10
    confirmed_at = factory.LazyFunction(_now)

    @factory.post_generation
    def topics(self, create: bool, extracted: list[Topic] | None, **kwargs: object) -> None:
        if not create or not extracted:
            return
        self.topics.set(extracted)
        self.topic_key = ",".join(str(t.pk) for t in sorted(extracted, key=lambda t: t.pk))
        self.save(update_fields=["topic_key"])


class PaperFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Paper

    paper_id = factory.Sequence(lambda n: f"2501.{n:05d}")
    title = factory.Sequence(lambda n: f"A study of things, part {n}")
    abstract = "We study things. We find results. More follows."
    authors = factory.LazyFunction(lambda: ["Ada Lovelace", "Alan Turing", "Grace Hopper"])
    listed_on = factory.LazyFunction(lambda: timezone.now().date())
    published_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))
    source = Paper.Source.HF
    upvotes = 10


class PaperTopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaperTopic

    paper = factory.SubFactory(PaperFactory)
    topic = factory.SubFactory(TopicFactory)
    score = 1.0
    reason = "term: diffusion"


class DeliveryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Delivery

    subscriber = factory.SubFactory(SubscriberFactory)
    digest_date = factory.LazyFunction(lambda: timezone.now().date())
