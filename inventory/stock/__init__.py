"""Stock on the shelves: the in-memory slot index, presence of tagged packs, expiry."""
