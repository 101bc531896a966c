"""Domain-free helpers: nothing here imports from a domain package."""
