"""``python manage.py doctor [--json]``: the database, then the preflight checks (credentials, custom-field
labels, statuses, the sfJobId field, clock skew, the worker) with OK/WARN/FAIL; exit status 1 when a blocking
check fails."""
from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand

from greenlight.dbcheck import database_label, schema_problem
from sync.engine.preflight import FAIL, Check, run_checks


class Command(BaseCommand):
    help = "Check PropertyWare and ServiceFusion before writing: exit status 1 when a blocking check fails."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the checks as JSON.")

    def handle(self, *args, **options):
        problem = schema_problem()
        if problem:
            # The other checks read the flags from the database and store their result there.
            checks = [Check("database", False, True, f"{problem} (the other checks need it: not run)")]
        else:
            ready = Check("database", True, True, f"{database_label()}: reachable, every migration applied")
            checks = [ready, *run_checks()]
        failed = any(check.level == FAIL for check in checks)
        if options["json"]:
            report = {"ok": not failed, "checks": [check.as_dict() for check in checks]}
            self.stdout.write(json.dumps(report, indent=2))
        else:
            for check in checks:
                self.stdout.write(f"{check.level:<4}  {check.name}: {check.message}")
        if failed:
            sys.exit(1)
