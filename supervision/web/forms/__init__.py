"""Forms of the pages, one module per capability."""
