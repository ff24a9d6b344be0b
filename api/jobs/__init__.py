"""Scheduled jobs: the APScheduler runner with run-once claims, its tables and the admin view."""
