from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from carbon.taxonomy import Module
from modules.services import module_validate
from units.operators import add_actor_argument, command_origin


class Command(BaseCommand):
    help = "Validate a unit's module for a year (--undo puts it back in progress)."

    def add_arguments(self, parser):
        parser.add_argument("cf")
        parser.add_argument("year", type=int)
        parser.add_argument("module", help=", ".join(m.name for m in Module))
        parser.add_argument("--undo", action="store_true")
        add_actor_argument(parser)

    def handle(self, *args, cf, year, module, undo, actor, **options):
        try:
            module_enum = Module.from_name(module)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        try:
            with command_origin("validate_module", actor) as origin:
                result = module_validate(unit_cf=cf, year=year, module=module_enum, undo=undo, actor=origin.user,
                                         source="command")
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"{cf} {year} {module_enum.name}: {result.get_status_display()}")
