"""Typed configuration and the operator-editable files beside it."""
