"""Ttadak's write services: activation (START/STOP), games (intents, outcomes, results), simulation."""
