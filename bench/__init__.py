"""Benchmarks: scripts that print figures and ratios (see bench/README.md); never run by pytest."""
