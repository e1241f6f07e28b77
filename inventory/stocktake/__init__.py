"""Stocktake by sweep: what a handheld saw against the ledger, reconciled, as EPCIS."""
