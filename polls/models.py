from django.conf import settings
from django.db import models
from django.db.models import Q

from events.models import Event


class Poll(models.Model):
    """
    A question viewers answer once each. Producers prepare polls ahead (draft,
    queued), launch one on cue (open, with a server-side timer) and it closes
    itself when the time is up, or earlier by hand.
    """

    class Status(models.TextChoices):
        DRAFT = "draft"
        QUEUED = "queued"
        OPEN = "open"
        CLOSED = "closed"

    class Visibility(models.TextChoices):
        LIVE = "live", "Results live"
        AFTER_CLOSE = "after_close", "Results after closing"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="polls")
    question = models.CharField(max_length=200)
    duration_s = models.PositiveIntegerField(default=60)
    results_visibility = models.CharField(max_length=12, choices=Visibility.choices, default=Visibility.LIVE)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    # Order in the producers' queue (smallest first).
    position = models.IntegerField(default=0)
    opens_at = models.DateTimeField(null=True, blank=True)
    # The timer: votes are refused from this moment on, even before the close is written.
    closes_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Broadcast time of the launch: the replay shows the poll there.
    media_ms = models.BigIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            # One poll on air per event at a time.
            models.UniqueConstraint(fields=["event"], condition=Q(status="open"), name="polls_one_open_per_event"),
        ]
        indexes = [models.Index(fields=["status", "closes_at"], name="polls_due")]

    def __str__(self):
        return self.question


class PollOption(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    label = models.CharField(max_length=80)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.label


class Vote(models.Model):
    """One account's answer to one poll. The database, not the client, enforces once."""

    # No index of its own: the two below start with the poll.
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="votes", db_index=False)
    option = models.ForeignKey(PollOption, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["poll", "user"], name="polls_vote_once_per_user")]
        # The tally is a grouped count over this index.
        indexes = [models.Index(fields=["poll", "option"], name="polls_vote_tally")]

    def __str__(self):
        return f"{self.user_id} -> {self.option_id}"
