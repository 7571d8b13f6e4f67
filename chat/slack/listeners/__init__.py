"""Bolt listeners, one module per kind: commands, actions, views, events. Each acks first."""
