"""Admin app config that installs Paperboy's admin site (the editor's desk pages)."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class PaperboyAdminConfig(AdminConfig):
    default_site = "digest.desk.site.PaperboyAdminSite"
