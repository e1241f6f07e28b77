"""Alarms: one live alarm per kind and subject, raised -> acknowledged -> cleared."""
