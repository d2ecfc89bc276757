"""Persistence adapters (DynamoDB)."""
