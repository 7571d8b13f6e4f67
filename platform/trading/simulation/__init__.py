"""The simulation run type: runner (pure), chart, and the services that persist runs as bots.BotRun."""
