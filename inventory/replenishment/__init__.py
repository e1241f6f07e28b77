"""Stock policy and procurement requests: when a product runs short, and how much to ask for."""
