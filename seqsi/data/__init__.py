"""Readers of the real data formats and the synthetic generators of each experiment."""
