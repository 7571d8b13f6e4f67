"""The dry-run/live driver: feeds running bots one candle at a time (see engine.py)."""
