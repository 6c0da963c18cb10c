"""The fault drill (`manage.py fault_drill`): the daily run on real workers, PostgreSQL,
Redis and an ESP stand-in, with each fault of docs/reliability.md injected, healed on a
simulated clock, and counted against what the stand-in accepted."""
