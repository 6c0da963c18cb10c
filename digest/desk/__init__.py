"""The editor's desk in Django admin: the admin site and its config, papers, topics, editions,
deliveries and the kill switch, the desk pages (preview, health, schedules) and their selectors."""
