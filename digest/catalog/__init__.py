"""Papers in: the Hugging Face client and ingest, the seeds, topic matching, the trending
score and ranking, and the editor's curation services."""
