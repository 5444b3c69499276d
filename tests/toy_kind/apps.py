from django.apps import AppConfig


class ToyKindConfig(AppConfig):
    """An entry kind that exists only in the test suite: it proves that a kind is its own package plus a
    migration, and that every surface (import command, campaign view, admin, exports) follows the registry."""

    name = "tests.toy_kind"
    label = "toy_kind"

    def ready(self):
        from modules.kinds import install_kind
        from tests.toy_kind.kind import SPEC

        install_kind(SPEC)
