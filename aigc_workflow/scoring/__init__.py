"""Scorers: measure each draft; the gate decides from their values."""
