"""Timers: APScheduler as the alarm clock over timer rows in the database (issue 3; not built yet)."""
