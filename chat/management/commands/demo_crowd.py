"""Keep the demo room lively: a small crowd of demo accounts comments as a real one would."""
import random
import time

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from chat import services
from companion.errors import ServiceError
from events.models import Event

CHATTER = [
    "What a line!", "he's flying", "so fast 😱", "GO GO GO", "that jump!!", "clean through the S",
    "watch the split time", "green split!", "is that a record?", "hello from Tokyo", "hi from Bormio",
    "commentators are great today", "the snow looks icy", "🔥", "888888", "wow", "perfect tuck",
]
WAVES = ["GOAL-LINE!!!", "NEW RECORD", "👏👏👏", "unbelievable"]


class Command(BaseCommand):
    help = "Post comments from the demo crowd into a live event until stopped (or --duration)."

    def add_arguments(self, parser):
        parser.add_argument("--slug", default="demo")
        parser.add_argument("--rate", type=float, default=2.0, help="comments per second on average")
        parser.add_argument("--duration", type=float, default=0, help="seconds to run; 0 runs until stopped")

    def handle(self, *args, slug, rate, duration, **options):
        event = Event.objects.filter(slug=slug).first()
        if event is None:
            raise CommandError(f"No event {slug!r}; run seed_demo first.")
        crowd = list(User.objects.filter(username__startswith="demo-"))
        if not crowd:
            raise CommandError("No demo accounts; run seed_demo first.")
        rng = random.Random()
        stop_at = time.monotonic() + duration if duration else None
        posted = 0
        while stop_at is None or time.monotonic() < stop_at:
            event.refresh_from_db(fields=["status", "started_at", "ended_at"])
            if event.status != Event.Status.LIVE:
                time.sleep(2)
                continue
            # Now and then the whole crowd reacts at once with the same words.
            wave = rng.random() < 0.05
            authors = rng.sample(crowd, k=min(len(crowd), rng.randint(4, 8))) if wave else [rng.choice(crowd)]
            text = rng.choice(WAVES) if wave else rng.choice(CHATTER)
            for author in authors:
                draft = services.DanmakuDraft(
                    text=text,
                    color=rng.choice(["#ffffff"] * 5 + ["#ffd166", "#06d6a0", "#ef476f"]),
                    mode=rng.choices(["scroll", "top", "bottom"], [10, 1, 1])[0],
                    size=rng.choices(["small", "normal", "large"], [1, 8, 1])[0],
                    media_ms=event.live_edge_ms(),
                )
                try:
                    services.danmaku_post(event=event, author=author, draft=draft)
                    posted += 1
                except ServiceError:
                    pass  # a bot over its rate limit just waits for the next turn
            time.sleep(rng.expovariate(rate) if rate > 0 else 1)
        self.stdout.write(f"posted {posted} comments")
