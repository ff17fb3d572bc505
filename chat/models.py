from django.conf import settings
from django.db import models

from events.models import Event


class Comment(models.Model):
    """A danmaku: one bullet comment, anchored to a moment of the broadcast."""

    class Mode(models.TextChoices):
        SCROLL = "scroll"
        TOP = "top"
        BOTTOM = "bottom"

    class Size(models.TextChoices):
        SMALL = "small"
        NORMAL = "normal"
        LARGE = "large"

    class Status(models.TextChoices):
        VISIBLE = "visible"
        HIDDEN = "hidden"
        HELD = "held"
        REJECTED = "rejected"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments")
    text = models.CharField(max_length=500)
    color = models.CharField(max_length=7, default="#ffffff")
    mode = models.CharField(max_length=6, choices=Mode.choices, default=Mode.SCROLL)
    size = models.CharField(max_length=6, choices=Size.choices, default=Size.NORMAL)
    media_ms = models.PositiveIntegerField(help_text="Broadcast time the comment belongs to, in ms.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.VISIBLE)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["media_ms", "id"]
        indexes = [
            # Replay windows: visible comments of an event by media time.
            models.Index(fields=["event", "status", "media_ms"], name="comment_replay_idx"),
        ]

    def __str__(self):
        return f"{self.text[:40]} ({self.media_ms} ms)"
