"""Time limits of the Celery tasks that may train the matching model (seconds)."""

LEARNING_SOFT_TIME_LIMIT = 1200
LEARNING_TIME_LIMIT = 1260
