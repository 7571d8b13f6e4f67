"""Benchmarks for `ldp bench NAME`: one module each, with register(parser) and run(args)."""
