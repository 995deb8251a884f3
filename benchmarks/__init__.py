"""Side-by-side measurements: the engine against the physical limit (raw SQLite) in the same run."""
