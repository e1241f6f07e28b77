"""The gateway's alarms at the broker: its retained `alarms/{alarm_id}` topics kept as the
ledger's live alarms across broker crashes and restarts of the daemon."""
