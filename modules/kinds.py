"""Installing an entry kind: what a kind package's app calls once, at start-up (`AppConfig.ready`)."""

from modules.importing import register_entry_importer
from modules.registry import EntryKindSpec, register_kind

__all__ = ["install_kind"]


def install_kind(spec: EntryKindSpec) -> None:
    """Register the kind and its importer: the import command, the upload page, the admin, the API, the
    campaign view and the exports all read the registry from then on."""
    register_kind(spec)
    register_entry_importer(spec)
