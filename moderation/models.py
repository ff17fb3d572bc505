from django.conf import settings
from django.db import models
from django.utils import timezone

from events.models import Event


class SanctionQuerySet(models.QuerySet):
    def active(self, at=None):
        at = at or timezone.now()
        return self.filter(lifted_at__isnull=True).filter(models.Q(ends_at__isnull=True) | models.Q(ends_at__gt=at))


class Sanction(models.Model):
    """A time-out (until ``ends_at``) or a ban (no end) on an account's posting, everywhere."""

    class Kind(models.TextChoices):
        TIMEOUT = "timeout", "time-out"
        BAN = "ban"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sanctions")
    kind = models.CharField(max_length=7, choices=Kind.choices)
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty for a ban.")
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="by"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = SanctionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "lifted_at"], name="sanction_user_idx")]

    def __str__(self):
        if self.kind == self.Kind.BAN:
            return f"ban of {self.user}"
        return f"time-out of {self.user} until {self.ends_at:%Y-%m-%d %H:%M} UTC"

    def is_active(self, at=None) -> bool:
        at = at or timezone.now()
        return self.lifted_at is None and (self.ends_at is None or self.ends_at > at)


class BlockedTerm(models.Model):
    """A word or pattern that a comment may not carry, in one event or (no event) everywhere."""

    class Action(models.TextChoices):
        REJECT = "reject", "reject the comment"
        HOLD = "hold", "hold it for review"
        MASK = "mask", "mask the term"

    event = models.ForeignKey(
        Event, null=True, blank=True, on_delete=models.CASCADE, related_name="blocked_terms",
        help_text="Empty: every event.",
    )
    pattern = models.CharField(
        max_length=200,
        help_text="A literal word or phrase (case-insensitive, matched anywhere in the text), or a regular expression.",
    )
    is_regex = models.BooleanField("regular expression", default=False)
    action = models.CharField(max_length=6, choices=Action.choices, default=Action.HOLD)
    is_active = models.BooleanField("active", default=True)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["event_id", "pattern"]

    def __str__(self):
        kind = "regex" if self.is_regex else "word"
        return f"{kind} {self.pattern!r} ({self.action})"

    def clean(self):
        from .patterns import validate_term

        self.pattern = validate_term(self.pattern, is_regex=self.is_regex)


class RoomSettings(models.Model):
    """How posting works in one event's room."""

    class WhoMayPost(models.TextChoices):
        EVERYONE = "everyone", "everyone signed in"
        ESTABLISHED = "established", "accounts older than the minimum age"
        MODERATORS = "moderators", "moderators only"

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="room_settings")
    slow_mode_seconds = models.PositiveIntegerField(
        "slow mode (seconds)", default=0, help_text="One comment per this many seconds per viewer; 0 is off."
    )
    who_may_post = models.CharField(max_length=11, choices=WhoMayPost.choices, default=WhoMayPost.EVERYONE)
    min_account_age_minutes = models.PositiveIntegerField(
        "minimum account age (minutes)", default=0, help_text="For “accounts older than the minimum age”."
    )
    rate_count = models.PositiveIntegerField(
        null=True, blank=True, help_text="Comments per rate window per viewer; empty for the site default."
    )
    rate_window = models.PositiveIntegerField(
        "rate window (seconds)", null=True, blank=True, help_text="Empty for the site default."
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "room settings"
        verbose_name_plural = "room settings"

    def __str__(self):
        return f"room settings of {self.event}"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.rate_count is not None and self.rate_count < 1:
            raise ValidationError({"rate_count": "At least one comment."})
        if self.rate_window is not None and self.rate_window < 1:
            raise ValidationError({"rate_window": "At least one second."})


class ModerationLog(models.Model):
    """Who did what to which comment, account, term or room, when, and why. Written by the services only."""

    class Action(models.TextChoices):
        HIDE = "hide"
        RESTORE = "restore"
        APPROVE = "approve"
        REJECT = "reject"
        HOLD = "hold", "hold (blocked term)"
        AUTO_REJECT = "auto_reject", "reject (blocked term)"
        TIMEOUT = "timeout", "time-out"
        BAN = "ban"
        UNBAN = "unban", "lift sanctions"
        TERM_SAVE = "term_save", "save blocked term"
        TERM_DELETE = "term_delete", "delete blocked term"
        SETTINGS_SAVE = "settings_save", "save room settings"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Empty for the automatic screening.",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=13, choices=Action.choices)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    target_type = models.CharField(max_length=20)
    target_id = models.BigIntegerField(null=True)
    target_repr = models.CharField("target", max_length=200)
    reason = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="modlog_target_idx")]

    def __str__(self):
        return f"{self.actor_name or 'screening'} {self.action} {self.target_repr}"


class LiveRoom(Event):
    """An event as moderators see it: the way into its live moderation page."""

    class Meta:
        proxy = True
        verbose_name = "live room"
