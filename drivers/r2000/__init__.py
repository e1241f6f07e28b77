"""Impinj R2000 based reader modules speaking the "A0" serial protocol."""
