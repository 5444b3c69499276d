"""Files written as a stream of bytes: CSV and JSON a few hundred rows at a time, a ZIP member by member.

Memory is bounded by one batch of rows (and, for a ZIP, by one compressed block), never by the size of the
export, so a response or a file of any length is written in constant memory. Every CSV cell passes through
`infra.csvio.sanitize_cell_for_export` (formula-safe).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from infra.csvio import csv_chunks, sanitize_cell_for_export

__all__ = ["ExportFile", "ZipStream", "csv_chunks", "json_chunks", "zip_chunks"]

BATCH_ROWS = 500


@dataclass
class ExportFile:
    """A file being produced: its name, type and content as a generator of bytes. `rows` counts the data rows
    written so far (complete once `chunks` is exhausted)."""

    filename: str
    content_type: str
    chunks: Iterator[bytes] = field(repr=False, default_factory=lambda: iter(()))
    rows: int = 0

    def counted(self, rows: Iterable) -> Iterator:
        for row in rows:
            self.rows += 1
            yield row


def json_chunks(rows: Iterable[Mapping]) -> Iterator[bytes]:
    """A JSON array of objects, one batch of rows at a time. Text cells are neutralised like the CSV's: the
    same file is opened in spreadsheets through their JSON import."""
    yield b"["
    parts: list[str] = []
    first = True
    for row in rows:
        item = {key: sanitize_cell_for_export(value) if isinstance(value, str) else value
                for key, value in row.items()}
        parts.append(("\n" if first else ",\n") + json.dumps(item, ensure_ascii=False, default=str))
        first = False
        if len(parts) >= BATCH_ROWS:
            yield "".join(parts).encode("utf-8")
            parts = []
    parts.append("\n]\n")
    yield "".join(parts).encode("utf-8")


class _Sink(io.RawIOBase):
    """Where zipfile writes: collects bytes until the generator takes them. Not seekable, so zipfile writes
    data descriptors after each member instead of seeking back (streaming ZIP)."""

    def __init__(self):
        super().__init__()
        self._parts: list[bytes] = []
        self._written = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._parts.append(bytes(data))
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts = []
        return data


class ZipStream:
    """A ZIP written member by member into a generator of bytes: `member(name, chunks)` for each file, then
    `close()`; after each call, `take()` returns the bytes produced so far."""

    def __init__(self):
        self._sink = _Sink()
        # Level 1: CSV compresses ~10× even so, at a fraction of the default level's CPU.
        self._zip = zipfile.ZipFile(self._sink, mode="w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)

    def member(self, name: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
        with self._zip.open(name, mode="w", force_zip64=True) as member:
            for chunk in chunks:
                member.write(chunk)
                data = self._sink.take()
                if data:
                    yield data
        yield self._sink.take()

    def close(self) -> bytes:
        self._zip.close()
        return self._sink.take()


def zip_chunks(members: Iterable[tuple[str, Iterable[bytes]]]) -> Iterator[bytes]:
    stream = ZipStream()
    for name, chunks in members:
        yield from stream.member(name, chunks)
    yield stream.close()
