"""``manage.py demo``: the whole product on one machine (README): migrate, start both simulators, run a full
sync, change a few records, run an incremental sync, print both summaries, then serve the admin.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from greenlight.dbcheck import require_reachable
from sync.engine.runner import run_sync
from sync.engine.summary import format_summary, summarize
from sync.models import SyncRun
from sync.policies.flags import read_flags, set_flag
from sync.policies.status import is_open
from sync.simulators.propertyware import PropertyWareSimulator
from sync.simulators.servicefusion import ServiceFusionSimulator
from warehouse.models import CustomerMapping, FactWorkOrder

DEMO_USER = "demo"


class Command(BaseCommand):
    help = "Run a demo sync against the bundled simulators, then serve the admin (--no-serve: just the sync)."

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="Exit after the summaries (CI).")
        parser.add_argument("--dataset", default="demo", help="Simulator dataset: tiny, demo or large.")
        parser.add_argument("--port", type=int, default=8000, help="Port for the admin (default 8000).")
        parser.add_argument(
            "--sf-rate-limit",
            type=int,
            default=6000,
            help="ServiceFusion simulator requests per minute (the real API allows 60).",
        )
        parser.add_argument(
            "--reset", action="store_true",
            help="Empty the database first: the simulators start afresh each time, so an earlier demo's "
                 "records would not match them (make demo passes it for the embedded SQLite database).",
        )

    def handle(self, *args, **options):
        say = self.stdout.write
        say(
            f"Database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]} "
            f"({settings.DATABASES['default']['NAME']})"
        )
        require_reachable()  # migrate brings the schema; a database that is not there is named, no traceback
        call_command("migrate", interactive=False, verbosity=0)
        self._fresh_database(reset=options["reset"])
        try:
            pw_sim = PropertyWareSimulator(dataset=options["dataset"], page_size=50)
        except (KeyError, ValueError) as exc:
            raise CommandError(f"--dataset: {exc}") from exc
        sf_sim = ServiceFusionSimulator(rate_limit=options["sf_rate_limit"], rate_window=60.0)
        with pw_sim as pw, sf_sim as sf:
            say(f"PropertyWare simulator:  {pw.url} (user {pw.username})")
            say(f"ServiceFusion simulator: {sf.base_url} (client {sf.client_id})")
            self._point_clients_at(pw, sf)
            set_flag("DRY_RUN", False, reason="demo: write to the bundled simulators")

            say(self.style.MIGRATE_HEADING("\n1. Full sync (every record, writes on)"))
            first = run_sync(full=True, trigger="demo", progress=self._progress)
            self._print(first)

            say(self.style.MIGRATE_HEADING("\n2. Users at work"))
            for line in self._act_as_users(pw, sf):
                say(f"  - {line}")

            say(self.style.MIGRATE_HEADING("\n3. Incremental sync"))
            second = run_sync(trigger="demo", progress=self._progress)
            self._print(second)

            username, password = self._demo_login()
            say(self.style.MIGRATE_HEADING("\nDemo admin login"))
            say(f"  user: {username}\n  password: {password}")
            if options["no_serve"]:
                return
            self._serve(options["port"], first.pk, second.pk)

    # --- steps of the demo ----------------------------------------------------------------------------
    def _fresh_database(self, *, reset: bool) -> None:
        """The demo needs an empty database: its simulators start afresh, so the ids an earlier demo stored
        (jobs, customers) exist no more. Never emptied unless asked: DATABASE_URL may name real data."""
        runs = SyncRun.objects.count()
        if not runs:
            return
        if not reset:
            raise CommandError(
                f"the database ({settings.DATABASES['default']['NAME']}) already holds {runs} sync run(s), "
                "from an earlier demo or real use: the demo needs an empty one. Pass --reset to empty it, or "
                "point DATABASE_URL at another database."
            )
        call_command("flush", interactive=False, verbosity=0)
        cache.clear()  # flags and lookups cached from the emptied tables
        self.stdout.write(f"  emptied the database ({runs} sync runs of an earlier demo)")

    def _point_clients_at(self, pw, sf) -> None:
        settings.PROPERTYWARE = {
            **settings.PROPERTYWARE,
            "URL": pw.url,
            "WSDL_URL": "",
            "USERNAME": pw.username,
            "PASSWORD": pw.password,
            "VERIFY": "true",
            "MAX_RPS": 200.0,
            "RETRY_MIN_WAIT": 0.2,
            "RETRY_MAX_WAIT": 2.0,
        }
        settings.SERVICEFUSION = {
            **settings.SERVICEFUSION,
            "BASE_URL": sf.base_url,
            "CLIENT_ID": sf.client_id,
            "CLIENT_SECRET": sf.client_secret,
            "VERIFY": sf.ca_path,
            "RATE_LIMIT_CAP": 0,
        }
        cache.clear()  # no token of an earlier simulator

    def _progress(self, event: dict[str, Any]) -> None:
        if event["event"] == "step_finished":
            status = event["status"]
            style = (
                self.style.SUCCESS
                if status == "succeeded"
                else (self.style.WARNING if status == "skipped" else self.style.ERROR)
            )
            self.stdout.write(
                f"  {style(f'{status:<9}')} {event['step']:<22} {event.get('seconds', 0):6.1f}s"
            )

    def _print(self, run) -> None:
        for line in format_summary(summarize(run)):
            self.stdout.write(line)

    def _act_as_users(self, pw, sf) -> list[str]:
        """Edit a work order, add new ones in PropertyWare; move jobs to Completed and invoice one in SF."""
        done: list[str] = []
        flags = read_flags()
        linked = list(
            FactWorkOrder.objects.filter(is_current=True, sf_job_id__isnull=False)
            .order_by("work_order_id")
            .values("work_order_id", "sf_job_id", "description")
        )
        if linked:
            wo = linked[0]
            new_text = f"{wo['description']} [edited in PropertyWare: now leaking under the sink]"
            pw.store.edit_work_order(wo["work_order_id"], description=new_text)
            done.append(f"PropertyWare: edited the description of work order {wo['work_order_id']}")
        mapped = list(
            CustomerMapping.objects.filter(entity_type="building", status="mapped")
            .order_by("pw_building_id")
            .values_list("pw_building_id", flat=True)[:3]
        )
        for i, building_id in enumerate(mapped, start=1):
            new_id = pw.store.create_work_order(
                building=building_id,
                description=f"Demo: smoke detector chirping ({i})",
                priority="MEDIUM",
                category="General",
                status="Open",
            )
            done.append(f"PropertyWare: new work order {new_id} in building {building_id}")
        for wo in linked[1:4]:
            sf.store.set_job_status(wo["sf_job_id"], "Completed")
            done.append(
                f"ServiceFusion: job {wo['sf_job_id']} (work order {wo['work_order_id']}) moved to Completed"
            )
        if len(linked) > 4:
            sf.store.add_invoice(linked[4]["sf_job_id"], "245.00")
            done.append(f"ServiceFusion: job {linked[4]['sf_job_id']} invoiced ($245.00)")
        open_count = sum(1 for w in pw.store.work_orders() if is_open(w.get("status"), flags))
        done.append(f"({open_count} PropertyWare work orders are open now)")
        return done

    def _demo_login(self) -> tuple[str, str]:
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=DEMO_USER, defaults={"email": ""})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        return DEMO_USER, password

    def _serve(self, port: int, first_run: int, second_run: int) -> None:
        base = f"http://127.0.0.1:{port}/admin/"
        say = self.stdout.write
        say(self.style.MIGRATE_HEADING("\nWhere to look"))
        say(f"  {base}sync/syncrun/               runs {first_run} and {second_run}, step by step")
        say(f"  {base}sync/outboxitem/            every write: sent, held (with reasons), dead letters")
        say(f"  {base}warehouse/factworkorder/    work orders with their SCD2 versions")
        say(f"  {base}sync/syncerror/             the error log")
        say("  The simulators keep running while the admin is served; Ctrl-C stops everything.")
        if not settings.ALLOWED_HOSTS:
            settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
        # No autoreloader: it would start a second process without the in-process simulators.
        call_command("runserver", f"127.0.0.1:{port}", use_reloader=False, insecure_serving=True)
