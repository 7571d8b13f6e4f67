"""Local emulators of the outside world (exchange, Telegram Bot API, Slack Web API) for tests and demos."""
