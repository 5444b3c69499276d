"""Professional travel: plane and train trips (module 2)."""
