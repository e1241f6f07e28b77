"""Simulated hardware speaking the same wire protocols as the real devices."""
