"""Similar papers: nearest recent papers in the matcher's vector space, on the paper page and
at /api/papers/<id>/similar/."""

from __future__ import annotations

import numpy as np
import pytest
from django.urls import reverse

from digest.catalog.similarity import recent
from digest.catalog.textmodel import to_vector_bytes
from tests.factories import PaperFactory

pytestmark = pytest.mark.django_db


def vector(*values: float) -> bytes:
    raw = np.array(values, dtype=np.float32)
    return to_vector_bytes(raw / np.linalg.norm(raw))


@pytest.fixture
def papers():
    recent.clear()
    base = PaperFactory(paper_id="2601.00001", title="Base", vector=vector(1, 0, 0))
    near = PaperFactory(paper_id="2601.00002", title="Near", vector=vector(0.9, 0.1, 0))
    middle = PaperFactory(paper_id="2601.00003", title="Middle", vector=vector(0.5, 0.5, 0))
    PaperFactory(paper_id="2601.00004", title="Far", vector=vector(0, 0, 1))
    PaperFactory(paper_id="2601.00005", title="Hidden twin", vector=vector(1, 0, 0), hidden=True)
    PaperFactory(paper_id="2601.00006", title="No vector")
    yield base, near, middle
    recent.clear()


def test_the_api_lists_the_nearest_papers_best_first(client, papers):
    base, near, _middle = papers
    response = client.get(reverse("digest:api_similar", args=[base.paper_id]) + "?limit=2")
    assert response.status_code == 200
    data = response.json()
    assert data["id"] == base.paper_id
    assert [r["title"] for r in data["results"]] == ["Near", "Middle"]
    assert 0.9 < data["results"][0]["similarity"] <= 1.0
    assert data["results"][0]["links"]["page"].endswith(reverse("digest:paper", args=[near.paper_id]))


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("?limit=0", 400, "Invalid parameters"),
        ("?limit=x", 400, "Invalid parameters"),
        ("?n=3", 400, "Unknown"),
    ],
)
def test_bad_api_parameters_get_a_json_error(client, papers, query, status, message):
    base, *_ = papers
    response = client.get(reverse("digest:api_similar", args=[base.paper_id]) + query)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_an_unknown_paper_is_a_json_404(client, papers):
    response = client.get(reverse("digest:api_similar", args=["9999.99999"]))
    assert response.status_code == 404
    assert "No paper" in response.json()["error"]


def test_the_paper_page_shows_similar_papers(client, papers):
    base, _near, _middle = papers
    body = client.get(reverse("digest:paper", args=[base.paper_id])).content.decode()
    section = body.split('id="similar"', 1)[1]
    assert section.index("Near") < section.index("Middle")
    assert "Hidden twin" not in section
    empty = client.get(reverse("digest:paper", args=["2601.00006"])).content.decode()
    assert "None found yet." in empty
