"""Benchmarks behind ``neurotp bench``."""
