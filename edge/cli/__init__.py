"""The `rxedge` command line, one module per family of commands."""
