"""``python manage.py flags``: list every flag with its value, default and meaning;
``python manage.py flags NAME VALUE --reason WHY``: change one (strictly parsed, recorded with the reason)."""
from __future__ import annotations

from django.core.management.base import CommandError

from greenlight.dbcheck import SchemaCommand
from sync.policies.flags import FlagError, flag_table, set_flag


class Command(SchemaCommand):
    help = "Show the feature flags, or set one with a reason."

    def add_arguments(self, parser):
        parser.add_argument("name", nargs="?", help="Flag to set (or a legacy alias).")
        parser.add_argument("value", nargs="?", help="New value, e.g. true / false / 0.9 / a list.")
        parser.add_argument("--reason", default="", help="Why (required to set a flag).")

    def handle(self, *args, name=None, value=None, reason="", **options):
        if name is None:
            for row in flag_table():
                shown = row["value"] if row["value"] is not None else f"{row['default']} (default)"
                self.stdout.write(f"{row['name']} = {shown}")
            return
        if value is None:
            raise CommandError("give a value to set, e.g. `flags DRY_RUN false --reason \"go live\"`")
        try:
            parsed = set_flag(name, value, user=None, reason=reason)
        except FlagError as exc:
            raise CommandError(str(exc)) from exc
        shown = ",".join(sorted(parsed)) if isinstance(parsed, frozenset) else parsed
        self.stdout.write(f"{name.upper()} set to {shown}")
