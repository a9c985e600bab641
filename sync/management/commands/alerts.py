"""``python manage.py alerts --test``: send a test alert to every ALERT_URLS target and say where it went;
``python manage.py alerts``: check the alert conditions now (as the timer does) and list the open ones."""
from __future__ import annotations

from django.core.management.base import CommandError

from greenlight.dbcheck import SchemaCommand
from sync.engine.tasks import check_alerts
from sync.observability.alerts import send_test_alert


class Command(SchemaCommand):
    help = "Send a test alert (--test), or check the alert conditions now."

    def add_arguments(self, parser):
        parser.add_argument("--test", action="store_true",
                            help="Send a test alert to every ALERT_URLS target.")

    def handle(self, *args, test=False, **options):
        if not test:
            self.stdout.write(check_alerts())
            return
        alert = send_test_alert("manage.py alerts --test")
        self.stdout.write(alert.delivery_result.split(": ", 1)[-1])
        if alert.delivered is False:
            raise CommandError(f"the test alert was not delivered everywhere (alert {alert.pk})")
        self.stdout.write(f"alert {alert.pk}: sent to {alert.sent_to} target(s)")
