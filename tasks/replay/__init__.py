"""Backtesting (复盘回放): replay an export through the scan's own code on a throwaway database (`crisis replay`)."""
