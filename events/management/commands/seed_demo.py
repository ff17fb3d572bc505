"""Create the live demo event (slug ``demo``) and what makes it lively. Idempotent."""
import random
from datetime import timedelta

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.models import User
from chat.models import Comment
from events.models import Event

CROWD = ["Mika", "Leo", "Ana", "Kenji", "Sofia", "Ravi", "Lin", "Omar", "Greta", "Tom"]
REACTIONS = [
    "What a start!", "GO GO GO", "unbelievable", "that line though", "+1", "😱", "888888",
    "clean run", "so close!", "new record?", "hello from Milano", "who else is watching live?",
    "the crowd is loud today", "replay please", "legendary", "wow", "perfect timing", "🔥🔥🔥",
]
COLORS = ["#ffffff"] * 6 + ["#ffd166", "#06d6a0", "#ef476f", "#118ab2"]


class Command(BaseCommand):
    help = "Create the demo event (slug 'demo', live now) with a crowd and earlier comments."

    def add_arguments(self, parser):
        parser.add_argument("--comments", type=int, default=400, help="earlier comments to create")

    @transaction.atomic
    def handle(self, *args, comments, **options):
        now = timezone.now()
        event, created = Event.objects.get_or_create(
            slug="demo",
            defaults={
                "title": "Alpine Skiing World Cup: Men's Downhill Final",
                "description": "Live from the Stelvio. Comment along: your comments fly across every screen.",
                "status": Event.Status.LIVE,
                "scheduled_start": now - timedelta(minutes=20),
                "started_at": now - timedelta(minutes=20),
            },
        )
        if event.status != Event.Status.LIVE:
            event.status, event.started_at, event.ended_at = Event.Status.LIVE, now - timedelta(minutes=20), None
            event.save()
        crowd = []
        for name in CROWD:
            user, _ = User.objects.get_or_create(
                username=f"demo-{name.lower()}", defaults={"display_name": name, "is_guest": True}
            )
            crowd.append(user)
        if created or not event.comments.exists():
            rng = random.Random(42)
            span = event.live_edge_ms()
            peaks = [span * f for f in (0.2, 0.45, 0.8)]
            rows = []
            for _ in range(comments):
                if rng.random() < 0.6:
                    media_ms = int(min(span, max(0, rng.gauss(rng.choice(peaks), span * 0.03))))
                else:
                    media_ms = rng.randrange(span)
                rows.append(
                    Comment(
                        event=event,
                        author=rng.choice(crowd),
                        text=rng.choice(REACTIONS),
                        color=rng.choice(COLORS),
                        mode=rng.choices(["scroll", "top", "bottom"], [8, 1, 1])[0],
                        size=rng.choices(["small", "normal", "large"], [1, 6, 1])[0],
                        media_ms=media_ms,
                    )
                )
            Comment.objects.bulk_create(rows)
        # The producer the feed player acts as (manage.py play_feed --user demo-producer).
        producer, _ = User.objects.get_or_create(
            username="demo-producer", defaults={"display_name": "Demo producer", "is_staff": True}
        )
        producer.groups.add(Group.objects.get_or_create(name="producers")[0])
        Token.objects.get_or_create(user=producer)
        self.stdout.write(f"demo event ready: /events/{event.slug}/ ({event.comments.count()} comments)")
