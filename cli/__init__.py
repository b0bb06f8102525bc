"""The `crisis` command line: one module per command group, wired together in `cli.app`."""
