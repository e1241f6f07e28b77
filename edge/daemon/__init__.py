"""The daemon's wiring on its event loop: devices to the ledger, lights and the outbox,
commands in, health judged."""
