"""Benchmarks: `make bench`. Each prints ratios of things measured side by side in one run."""
