"""Exchange gateways: one interface for the engine, three implementations (simulated, paper, live)."""
