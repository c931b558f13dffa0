"""Stage query: reading the warehouse back: freshness, integrity checks, exports for statisticians."""
