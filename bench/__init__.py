"""Benchmark scripts (``python -m bench.<name>``); each prints its figures last."""
