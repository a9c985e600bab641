"""``python manage.py doctor [--json]``: the preflight checks (credentials, custom-field labels, statuses,
the sfJobId field, clock skew, the worker) with OK/WARN/FAIL; exit status 1 when a blocking check fails."""
from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand

from sync.engine.preflight import FAIL, run_checks


class Command(BaseCommand):
    help = "Check PropertyWare and ServiceFusion before writing: exit status 1 when a blocking check fails."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the checks as JSON.")

    def handle(self, *args, **options):
        checks = run_checks()
        failed = any(check.level == FAIL for check in checks)
        if options["json"]:
            report = {"ok": not failed, "checks": [check.as_dict() for check in checks]}
            self.stdout.write(json.dumps(report, indent=2))
        else:
            for check in checks:
                self.stdout.write(f"{check.level:<4}  {check.name}: {check.message}")
        if failed:
            sys.exit(1)
