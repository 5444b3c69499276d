"""Research facilities module: a unit's use of shared research and animal facilities."""
