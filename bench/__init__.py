"""Benchmarks. Each module `bench/<name>.py` exposes `run() -> dict`; `python -m bench` runs them all."""
