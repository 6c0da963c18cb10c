from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
import time_machine
from django.urls import reverse

from tests.factories import PaperFactory, PaperTopicFactory, TopicFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 20)
ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE = "<script>alert('x')</script> & \"quotes\" \x0b]]>"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://paperboy.example"
    with time_machine.travel(dt.datetime(2026, 11, 20, 18, 0, tzinfo=dt.UTC), tick=False):
        yield


def paper(day: dt.date = DAY, **fields):
    return PaperFactory(listed_on=day, published_at=None, **fields)


def parse(response) -> ET.Element:
    assert response.status_code == 200
    return ET.fromstring(response.content)  # noqa: S314 - our own feed; raises on invalid XML


def child(element: ET.Element, path: str) -> ET.Element:
    """The first element at `path` under `element`, which must be there."""
    found = element.find(path)
    assert found is not None, path
    return found


def child_text(element: ET.Element, path: str) -> str:
    """The text of the first element at `path` under `element`, which must be there."""
    text = element.findtext(path)
    assert text is not None, path
    return text


def test_rss_feed_lists_trending_papers_best_first_with_absolute_links(client):
    best = paper(title="Best paper", upvotes=50, ai_summary="Short summary.")
    paper(title="Second paper", upvotes=5)
    paper(day=DAY - dt.timedelta(days=10), title="Too old for the feed")
    paper(title="Hidden", hidden=True)

    response = client.get(reverse("digest:trending_rss"))

    root = parse(response)
    assert response["Content-Type"].startswith("application/rss+xml")
    channel = child(root, "channel")
    assert channel.findtext("title") == "Paperboy — trending papers"
    assert channel.findtext("link") == "https://paperboy.example/papers/"
    items = channel.findall("item")
    assert [item.findtext("title") for item in items] == ["Best paper", "Second paper"]
    assert items[0].findtext("link") == f"https://paperboy.example/papers/{best.paper_id}/"
    assert items[0].findtext("description") == "Short summary."
    assert child_text(items[0], "pubDate").startswith("Fri, 20 Nov 2026")
    assert "max-age=900" in response["Cache-Control"]
    assert response["Last-Modified"]


def test_atom_feed_has_entries_with_ids_and_self_link(client):
    topic = TopicFactory(name="Alignment", slug="alignment")
    item = paper(title="Aligned", authors=["A. Author", "B. Author", "C. Author", "D. Author"])
    PaperTopicFactory(paper=item, topic=topic)

    root = parse(client.get(reverse("digest:trending_atom")))

    assert root.tag == f"{ATOM}feed"
    self_link = [link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert self_link[0].get("href") == "https://paperboy.example/feeds/trending.atom"
    entry = child(root, f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title") == "Aligned"
    assert entry.findtext(f"{ATOM}id") == f"https://paperboy.example/papers/{item.paper_id}/"
    assert child(entry, f"{ATOM}author").findtext(f"{ATOM}name") == "A. Author, B. Author, C. Author et al."
    assert [c.get("term") for c in entry.findall(f"{ATOM}category")] == ["Alignment"]


@pytest.mark.parametrize("name", ["digest:topic_feed_rss", "digest:topic_feed_atom"])
def test_topic_feeds_carry_only_that_topics_papers(client, name):
    topic = TopicFactory(name="Speech", slug="speech")
    PaperTopicFactory(paper=paper(title="Talking machines"), topic=topic)
    paper(title="Unrelated")

    response = client.get(reverse(name, kwargs={"topic": "speech"}))

    parse(response)
    body = response.content.decode()
    assert "Talking machines" in body
    assert "Unrelated" not in body
    assert "Paperboy — trending papers: Speech" in body


def test_unknown_or_inactive_topic_feed_is_404(client):
    TopicFactory(slug="retired", is_active=False)

    assert client.get(reverse("digest:topic_feed_rss", kwargs={"topic": "nope"})).status_code == 404
    assert client.get(reverse("digest:topic_feed_atom", kwargs={"topic": "retired"})).status_code == 404


@pytest.mark.parametrize("name", ["digest:trending_rss", "digest:trending_atom"])
def test_hostile_titles_stay_valid_escaped_xml(client, name):
    paper(title=HOSTILE, ai_summary="<b>bold</b> & more", authors=["<i>Eve</i>"])

    response = client.get(reverse(name))

    root = parse(response)
    raw = response.content.decode()
    assert "<script>" not in raw
    assert "&lt;script&gt;" in raw
    titles = [el.text for el in root.iter() if el.tag in ("title", f"{ATOM}title")]
    assert "<script>alert('x')</script> & \"quotes\" ]]>" in titles  # control character dropped
    assert "<b>bold</b> & more" in [el.text for el in root.iter()]


def test_feed_query_count_does_not_grow_with_papers(client, django_assert_max_num_queries):
    topic = TopicFactory()
    for n in range(30):
        PaperTopicFactory(paper=paper(upvotes=n), topic=topic)

    with django_assert_max_num_queries(5):
        parse(client.get(reverse("digest:topic_feed_rss", kwargs={"topic": topic.slug})))


def test_feeds_are_read_only(client):
    assert client.post(reverse("digest:trending_rss")).status_code == 405


def test_empty_catalog_gives_an_empty_but_valid_feed(client):
    root = parse(client.get(reverse("digest:trending_rss")))

    assert child(root, "channel").findall("item") == []
