"""``manage.py sync``: run the pipeline inline (no worker needed), with progress per step and a summary."""

from __future__ import annotations

import json
import sys
import threading
import time

from django.core.management.base import CommandError

from greenlight.dbcheck import SchemaCommand
from sync.engine.budget import Budget
from sync.engine.pipeline import STEP_NAMES
from sync.engine.progress import format_progress, step_view
from sync.engine.runner import run_sync
from sync.engine.summary import format_summary, summarize


class Command(SchemaCommand):
    help = "Run the sync now: every step, or --steps a,b. Ends with a summary (JSON with --json)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--steps", default="", help=f"Comma-separated step names: {', '.join(STEP_NAMES)}"
        )
        parser.add_argument("--dry-run", action="store_true", help="Plan every write, make none (MOCK- ids).")
        parser.add_argument(
            "--full", action="store_true", help="Full reconciliation: pulls detect deletions."
        )
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON on stdout.")
        parser.add_argument(
            "--progress-every", type=float, default=10.0, metavar="SECONDS",
            help="While a step runs, a progress line (planned, sent, remaining, ETA) at most this often "
                 "(default 10; progress is recorded about once a second).",
        )
        parser.add_argument(
            "--budget", type=float, default=None, metavar="SECONDS",
            help="Stop taking new work after SECONDS and end 'partial' (exit status 3); run again to "
                 "carry on. Default: no budget (a worker's runs have Q_TIMEOUT less SYNC_BUDGET_MARGIN).",
        )

    def handle(self, *args, **options):
        steps = [s.strip() for s in options["steps"].split(",") if s.strip()] or None
        if options["budget"] is not None and not options["budget"] > 0:
            raise CommandError(f"--budget: must be a number of seconds > 0, got {options['budget']:g}")
        budget = Budget(options["budget"]) if options["budget"] is not None else None
        as_json = options["json"]
        # With --json the summary owns stdout; progress goes to stderr.
        out = sys.stderr if as_json else self.stdout

        every = options["progress_every"]
        if every < 0:
            raise CommandError("--progress-every: must be 0 or more seconds")
        last_line = [0.0]
        lock = threading.Lock()  # step_progress may come from a sender's thread

        def progress(event):
            kind = event["event"]
            with lock:
                if kind == "step_started":
                    out.write(f"→ {event['step']}{' (dry run)' if event.get('dry_run') else ''}\n")
                elif kind == "step_progress":
                    if time.monotonic() - last_line[0] < every:
                        return
                    last_line[0] = time.monotonic()
                    snap = event["progress"]
                    view = step_view(event["step"], "running", snap, event.get("started_at"))
                    out.write(f"  … {format_progress(view, snap.get('rate'))}\n")
                elif kind == "step_finished":
                    out.write(
                        f"  {event['step']}: {event['status']} ({event.get('seconds', 0):.1f}s) "
                        f"{event.get('message', '')[:200]}\n"
                    )
                    view = step_view(event["step"], event["status"], event.get("progress"))
                    if view["planned"] is not None and event["status"] != "skipped":
                        out.write(f"    {format_progress(view)}\n")
                out.flush()

        try:
            run = run_sync(
                steps=steps,
                dry_run=True if options["dry_run"] else None,
                full=options["full"],
                trigger="manual",
                progress=progress,
                budget=budget,
            )
        except ValueError as exc:  # an unknown step name
            raise CommandError(str(exc)) from exc
        data = summarize(run)
        if as_json:
            self.stdout.write(json.dumps(data, indent=2, default=str))
        else:
            for line in format_summary(data):
                self.stdout.write(line)
        if run.status == run.Status.REFUSED:
            raise CommandError(run.error_summary or "another sync run is in progress")
        if run.status == run.Status.PARTIAL:
            self.stderr.write(f"partial: {run.stop_reason}; run again to carry on")
            sys.exit(3)
        if run.status != run.Status.SUCCEEDED:
            sys.exit(1)
