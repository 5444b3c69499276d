"""The reference system's sample CSV files, copied into the repository (fixtures/upstream/)."""

from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "upstream"
