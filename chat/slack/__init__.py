"""Slack adapter (slack-bolt): translates core screens to Block Kit, `/ldp` commands, modals and App Home.

Entry points: `chat.slack.app` (build_app, Socket Mode, HTTP), `chat.slack.urls` (mounted at /slack/),
and `chat.slack.render` (`screen_message_kwargs` — reused by notifications).
"""
