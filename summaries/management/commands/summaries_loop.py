"""Beat without Celery beat: enqueue due summaries every interval (the demo's embedded default)."""
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from summaries import services


class Command(BaseCommand):
    help = (
        "Ask for a summary of every live event and language that is due, every SUMMARY_INTERVAL_SECONDS, "
        "until stopped. Production runs `celery -A companion beat` instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=None, help="seconds between checks (default: the setting)")
        parser.add_argument("--once", action="store_true", help="check once and exit")

    def handle(self, *args, interval, once, **options):
        interval = interval or settings.SUMMARY_INTERVAL_SECONDS
        while True:
            started = time.monotonic()
            close_old_connections()
            try:
                enqueued = services.summaries_enqueue_due()
            except Exception as exc:  # the loop outlives a database hiccup
                self.stderr.write(f"summaries_loop: {exc!r}")
            else:
                for event_id, lang, window in enqueued:
                    self.stdout.write(f"summaries_loop: event {event_id} [{lang}] {window}")
            if once:
                return
            time.sleep(max(1.0, interval - (time.monotonic() - started)))
