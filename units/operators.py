"""Who runs a management command: `--actor INSTITUTIONAL_ID`, else the `OPERATOR_ACTOR` setting (an operator
account), else the operating-system user as "operator <name>". Never empty.

Commands that write wrap their work in `command_origin(...)`: every history row written meanwhile carries the
operator's account and the reason "command line: <command>" — or, with no account, "command line: <command>
(operator <name>)" (see `infra.history`).
"""

from __future__ import annotations

import getpass
import os
from contextlib import contextmanager

from django.conf import settings
from django.core.management.base import CommandError

from infra.history import write_origin
from units.models import User

__all__ = ["add_actor_argument", "command_origin", "operator_resolve"]


def add_actor_argument(parser) -> None:
    parser.add_argument("--actor", dest="actor", metavar="INSTITUTIONAL_ID",
                        help="The account recorded in history and in the audit trail (default: the OPERATOR_ACTOR "
                             "setting, else the operating-system user as 'operator <name>').")


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return os.environ.get("USER") or os.environ.get("USERNAME") or f"uid {os.getuid()}"


def operator_resolve(institutional_id: str | None = None) -> tuple[User | None, str]:
    """(account or None, label). An unknown --actor is an error, not a silent fallback."""
    wanted = institutional_id or getattr(settings, "OPERATOR_ACTOR", "")
    if wanted:
        user = User.objects.filter(institutional_id=wanted).order_by("pk").first()
        if user is None:
            raise CommandError(f"unknown actor {wanted}" + ("" if institutional_id else " (OPERATOR_ACTOR)"))
        return user, user.institutional_id
    return None, f"operator {_os_user()}"


@contextmanager
def command_origin(command: str, institutional_id: str | None = None):
    user, label = operator_resolve(institutional_id)
    # Without an account the history row has no user: the reason names the operator instead.
    origin_label = f"command line: {command}" if user is not None else f"command line: {command} ({label})"
    with write_origin(origin_label, user=user, actor_label=label) as origin:
        yield origin

