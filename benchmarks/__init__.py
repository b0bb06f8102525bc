"""Benchmarks (`make bench`) and quality evaluation (`make eval`) on ../shared/data.

Speed is always a ratio against a baseline measured in the same run, never an assertion.
"""
