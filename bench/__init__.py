"""Benchmarks of the template against what users would otherwise pick: `python -m bench.run`."""
