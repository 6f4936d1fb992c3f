"""Storage: the SQLite schema, the Store and the tallies."""
