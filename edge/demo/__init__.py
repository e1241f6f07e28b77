"""`rxedge demo`: the whole system on simulated hardware with a private broker."""
