"""What users run: `genre predict`, `genre listen`, `genre serve` and the results table."""
