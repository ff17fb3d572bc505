from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class Event(models.Model):
    """A broadcast that viewers watch together: a final, a gala, a match."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled"
        LIVE = "live"
        ENDED = "ended"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    scheduled_start = models.DateTimeField(null=True, blank=True)
    # The broadcast clock: media time 0 is the moment the event went live.
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    video_url = models.URLField(
        blank=True, help_text="Optional video or stream shown on the stage; media time follows its playhead."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-scheduled_start", "-created_at"]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("event-room", args=[self.slug])

    @property
    def room_group(self) -> str:
        return f"event-{self.pk}"

    def media_ms_at(self, moment) -> int | None:
        """Broadcast-clock time of ``moment``, or None before the event went live."""
        if self.started_at is None:
            return None
        return max(0, int((moment - self.started_at).total_seconds() * 1000))

    def live_edge_ms(self) -> int | None:
        """Media time of the live edge now (or of the end, once ended)."""
        moment = self.ended_at if self.status == self.Status.ENDED and self.ended_at else timezone.now()
        return self.media_ms_at(moment)
