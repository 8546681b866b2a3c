"""Persistence: ORM models, sessions and repository functions."""
