"""Chalice blueprints: the webhook route and the runs API."""
