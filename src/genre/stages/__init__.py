"""One thin entry point per DVC stage: `PYTHONPATH=src python -m genre.stages.<name>`."""
