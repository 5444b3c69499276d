"""Headcount module: members (one row per person) and students (one FTE total per unit)."""
