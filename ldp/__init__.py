"""The `ldp` command line: process commands (up, worker, …) and tools (simulate, bench …)."""
