"""Purchases module: goods and services bought (by spend) and additional purchases (by mass)."""
