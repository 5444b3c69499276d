"""Shared infrastructure with no models and no domain: CSV reading and writing, the registry of import
kinds, bulk writes (COPY), module discovery. The bottom layer: it imports no app of the project."""
