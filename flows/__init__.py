"""Prefect flow entrypoints: one runbook per file."""
