"""Pick lists: allocation (FEFO), confirmation at the shelf, mistakes caught."""
