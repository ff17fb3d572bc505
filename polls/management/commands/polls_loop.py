"""Beat without Celery beat: close polls whose time is up, every second (the demo's embedded default)."""
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from polls import services


class Command(BaseCommand):
    help = (
        "Close every open poll whose time is up, every --interval seconds, until stopped. "
        "Production runs `celery -A companion beat` (the polls-close-due entry) instead."
    )

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between sweeps (default 1)")
        parser.add_argument("--once", action="store_true", help="sweep once and exit")

    def handle(self, *args, interval, once, **options):
        while True:
            started = time.monotonic()
            try:
                closed = services.polls_close_due()
            except Exception as exc:  # the loop outlives a database hiccup
                self.stderr.write(f"polls_loop: {exc!r}")
            else:
                if closed:
                    self.stdout.write(f"polls_loop: closed {closed} poll(s)")
            if once:
                return
            # Between sweeps, as between requests: drop a broken or expired connection.
            close_old_connections()
            time.sleep(max(0.1, interval - (time.monotonic() - started)))
