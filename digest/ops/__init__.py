"""Operations: job runs, health, metrics, schedules in the database."""
