"""
Keep the demo room lively: a small crowd of demo accounts comments as a real one would.

With ``--url`` (or COMPANION_URL) the crowd posts through the server's REST API
with API tokens, like any script, so its comments fly live whatever the channel
layer; without it, they are stored through the service directly (and fly live
only when the server shares a Redis channel layer with this process).
"""
import json
import os
import random
import time
import urllib.error
import urllib.request

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
        parser.add_argument(
            "--url", default=os.environ.get("COMPANION_URL", ""), help="post through this server's API"
        )

    def handle(self, *args, slug, rate, duration, url, **options):
        event = Event.objects.filter(slug=slug).first()
        if event is None:
            raise CommandError(f"No event {slug!r}; run seed_demo first.")
        crowd = list(User.objects.filter(username__startswith="demo-"))
        if not crowd:
            raise CommandError("No demo accounts; run seed_demo first.")
        post = self.api_poster(url, slug, crowd) if url else self.service_poster(event)
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
                posted += post(author, draft)
            time.sleep(rng.expovariate(rate) if rate > 0 else 1)
        self.stdout.write(f"posted {posted} comments")

    def service_poster(self, event):
        def post(author, draft) -> int:
            try:
                services.danmaku_post(event=event, author=author, draft=draft)
                return 1
            except ServiceError:
                return 0  # a member over its rate limit waits for its next turn

        return post

    def api_poster(self, url, slug, crowd):
        from rest_framework.authtoken.models import Token

        tokens = {user.pk: Token.objects.get_or_create(user=user)[0].key for user in crowd}
        endpoint = f"{url.rstrip('/')}/api/events/{slug}/danmaku/"

        def post(author, draft) -> int:
            body = {"text": draft.text, "color": draft.color, "mode": draft.mode, "size": draft.size,
                    "media_ms": draft.media_ms}
            request = urllib.request.Request(
                endpoint,
                data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json", "Authorization": f"Token {tokens[author.pk]}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=5):
                    return 1
            except urllib.error.HTTPError:
                return 0  # rate limited or refused: the next turn will do
            except (urllib.error.URLError, TimeoutError) as exc:
                self.stderr.write(f"server not reachable: {exc}")
                time.sleep(2)
                return 0

        return post
