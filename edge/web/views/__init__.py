"""One module per area of the page, each with its `routes`."""
