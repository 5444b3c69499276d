"""Buildings module: building rooms (with their derived embodied energy) and energy combustion."""
