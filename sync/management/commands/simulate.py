"""``manage.py simulate``: run the PropertyWare and ServiceFusion simulators as servers until Ctrl-C, printing
their URLs, throwaway credentials and the environment lines that point GreenLight at them.
"""
from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from sync.simulators.datasets import build_dataset, load_dataset
from sync.simulators.propertyware import PropertyWareSimulator
from sync.simulators.servicefusion import ServiceFusionSimulator


class Command(BaseCommand):
    help = "Run both simulators (PropertyWare SOAP, ServiceFusion REST) on loopback until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", default="demo", help="tiny, demo, large, or a dataset JSON file.")
        parser.add_argument("--seed", type=int, default=0, help="Seed for the generated dataset.")
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default loopback).")
        parser.add_argument("--pw-port", type=int, default=8081, help="PropertyWare port (0: any free).")
        parser.add_argument("--sf-port", type=int, default=8082, help="ServiceFusion HTTPS port (0: any).")
        parser.add_argument("--pw-page-size", type=int, default=10, help="PropertyWare page size.")
        parser.add_argument("--pw-latency", type=float, default=0.0, help="Seconds added to each PW call.")
        parser.add_argument("--sf-latency", type=float, default=0.0, help="Seconds added to each SF call.")
        parser.add_argument(
            "--sf-rate-limit", type=int, default=60, help="ServiceFusion requests per minute per token."
        )
        parser.add_argument(
            "--multiref", action="store_true", help="PropertyWare answers with Axis multiRef/href bodies."
        )

    def handle(self, *args, **options):
        name = options["dataset"]
        try:
            dataset = load_dataset(name) if name.endswith(".json") else build_dataset(name, options["seed"])
        except (KeyError, ValueError, OSError) as exc:
            raise CommandError(f"--dataset {name!r}: {exc}") from exc
        if options["sf_rate_limit"] < 1:
            raise CommandError("--sf-rate-limit: must be at least 1 request per minute")
        try:
            pw = PropertyWareSimulator(
                dataset=dataset, seed=options["seed"], page_size=options["pw_page_size"],
                latency=options["pw_latency"], host=options["host"], port=options["pw_port"],
                multiref=options["multiref"],
            )
            sf = ServiceFusionSimulator(
                dataset=dataset, seed=options["seed"], rate_limit=options["sf_rate_limit"],
                latency=options["sf_latency"], host=options["host"], port=options["sf_port"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        stop = threading.Event()
        try:
            with pw, sf:
                self._announce(pw, sf, name)
                signal.signal(signal.SIGTERM, lambda *_: stop.set())
                try:
                    stop.wait()
                except KeyboardInterrupt:
                    pass
        except OSError as exc:  # port in use, address not available
            raise CommandError(f"cannot start the simulators: {exc}") from exc
        self.stdout.write("Simulators stopped.")

    def _announce(self, pw, sf, dataset: str) -> None:
        say = self.stdout.write
        say(self.style.MIGRATE_HEADING(f"Simulators running (dataset {dataset}); Ctrl-C stops them."))
        say("PropertyWare (SOAP)")
        say(f"  service:  {pw.url}")
        say(f"  WSDL:     {pw.wsdl_url}")
        say(f"  control:  {pw.control_url}")
        say(f"  login:    {pw.username} / {pw.password}")
        say("ServiceFusion (REST, HTTPS with a throwaway CA)")
        say(f"  base URL: {sf.base_url}")
        say(f"  control:  {sf.control_url}")
        say(f"  client:   {sf.client_id} / {sf.client_secret}")
        say(f"  CA file:  {sf.ca_path}")
        say("\nPoint GreenLight at them (these credentials exist only while the simulators run):")
        say(f"  export PW_URL={pw.url} PW_USERNAME={pw.username} PW_PASSWORD={pw.password}")
        say(f"  export SF_BASE_URL={sf.base_url} SF_CLIENT_ID={sf.client_id} "
            f"SF_CLIENT_SECRET={sf.client_secret} SF_VERIFY={sf.ca_path}")
        self.stdout.flush()
