"""Admin registrations for the digest app (the editor's desk).

Papers: digest/admin_papers.py; topics: digest/admin_topics.py; editions, deliveries and
the sending kill switch: digest/admin_sending.py; desk pages: digest/admin_views.py.
"""

from __future__ import annotations

from digest import admin_papers, admin_sending, admin_topics

__all__ = ["admin_papers", "admin_sending", "admin_topics"]
