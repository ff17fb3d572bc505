"""Play a recorded feed (JSON lines with offsets) into an event, at real speed or faster."""
import time

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from events.feeds import ApiTarget, FeedError, ServiceTarget, feed_play, feed_read
from events.models import Event
from events.roles import is_producer


class Command(BaseCommand):
    help = (
        "Play a feed file (docs/producers.md) into an event: stats, key moments and polls on cue. "
        "With --url it posts to that server's REST API (works with any channel layer, from a separate "
        "process); without, it calls the services in this process."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--slug", default="demo", help="the event (default: demo)")
        parser.add_argument("--speed", type=float, default=1.0, help="times real time (default 1.0; 10 plays ten times faster)")
        parser.add_argument("--url", help="base URL of a running server, e.g. http://127.0.0.1:8000")
        parser.add_argument("--token", help="a producer's API token (with --url)")
        parser.add_argument("--user", help="the producer to act as (default: the first superuser); with --url, its token is used")
        parser.add_argument("--start-at", type=int, default=0, metavar="MS", help="skip the feed up to this offset")
        parser.add_argument("--loop", action="store_true", help="play again and again (pausing --loop-pause seconds between)")
        parser.add_argument("--loop-pause", type=float, default=30.0)

    def handle(self, *args, file, slug, speed, url, token, user, start_at, loop, loop_pause, **options):
        if speed <= 0:
            raise CommandError("--speed must be above 0")
        try:
            meta, lines = feed_read(file)
        except (OSError, FeedError) as error:
            raise CommandError(f"{file}: {error}") from None
        event = Event.objects.filter(slug=slug).first()
        if url is None and event is None:
            raise CommandError(f"no event with slug {slug!r} (run `manage.py seed_demo`, or create it first)")
        target = self.target(event=event, slug=slug, url=url, token=token, username=user)
        duration = (lines[-1].at_ms if lines else 0) / 1000 / speed
        self.stdout.write(
            f"play_feed: {meta.get('title') or file}: {len(lines)} lines, {duration:.0f} s at {speed:g}x "
            f"into {slug!r} via {url or 'services'}"
        )
        verbose = options["verbosity"] >= 1
        rounds = 0
        while True:
            played, failed = feed_play(lines, target, speed=speed, start_at_ms=start_at, report=self.report if verbose else None)
            rounds += 1
            self.stdout.write(f"play_feed: round {rounds} done: {played} lines, {failed} failed")
            if not loop:
                break
            time.sleep(loop_pause)
            start_at = 0
        if failed and not loop:
            raise CommandError(f"{failed} of {played} lines failed")

    def target(self, *, event, slug, url, token, username):
        if url and token:
            return ApiTarget(base_url=url, slug=slug, token=token)
        producer = User.objects.filter(username=username).first() if username else (
            User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        )
        if producer is None:
            raise CommandError(f"no user {username!r}" if username else "no superuser: pass --user or --token")
        if not is_producer(producer):
            raise CommandError(f"{producer.username} is not a producer (group 'producers') or superuser")
        if url:
            from rest_framework.authtoken.models import Token

            return ApiTarget(base_url=url, slug=slug, token=Token.objects.get_or_create(user=producer)[0].key)
        return ServiceTarget(event=event, user=producer)

    def report(self, line, outcome):
        mark = "ok " if outcome.ok else "ERR"
        self.stdout.write(f"[{line.at_ms / 1000:7.1f}s] {mark} {line.action:<6} {outcome.summary}")
