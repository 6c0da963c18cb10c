"""Django's admin autodiscovery entry point: the editor's desk lives in `digest.desk`.

Papers: digest/desk/papers.py; topics: digest/desk/topics.py; editions, deliveries and
the sending kill switch: digest/desk/sending.py; desk pages: digest/desk/views.py.
"""

from __future__ import annotations

from digest.desk import papers, sending, topics

__all__ = ["papers", "sending", "topics"]
