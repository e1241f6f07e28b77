"""The ledger file: schema, movements on a hash chain, outbox, verification, the one writer
thread."""
