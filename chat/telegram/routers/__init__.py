"""One router per kind of input: commands, buttons, typed messages. Features live in the core."""
