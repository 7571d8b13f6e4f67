"""Slack adapter (slack-bolt): translates core screens to Block Kit, slash commands and modals."""
