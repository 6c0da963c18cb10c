"""Readers steering their own digest: feedback on papers, and what of it is exported."""
