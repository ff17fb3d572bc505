from django.db import models

from events.models import Event


class Summary(models.Model):
    """
    A "catch me up" summary of an event in one language, written by a provider
    (an LLM or the offline writer) from the event's facts and its chat.

    ``window_key`` names the request that produced it (a beat slot such as
    ``auto-29384721`` or a producer's ``req-…``): at most one summary per event,
    language and window, so a redelivered task creates nothing new.
    """

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="summaries")
    lang = models.CharField(max_length=16)
    window_key = models.CharField(max_length=64)
    text = models.TextField()
    provider = models.CharField(max_length=40, help_text="offline, or openai for an OpenAI-compatible endpoint.")
    model = models.CharField(max_length=120, blank=True)
    # The stretch of broadcast time this summary reports as new: from the
    # previous summary's end (0 for the first) to the live edge when written.
    covers_from_ms = models.PositiveBigIntegerField(default=0)
    covers_to_ms = models.PositiveBigIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0, help_text="Time the provider took to answer.")
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    # What the summary saw, so the next run can tell whether anything is new.
    last_comment_id = models.BigIntegerField(default=0)
    facts_digest = models.CharField(max_length=64, blank=True)
    stats_snapshot = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "summaries"
        constraints = [
            models.UniqueConstraint(fields=["event", "lang", "window_key"], name="summary_one_per_window"),
        ]
        indexes = [
            # The latest summary of an event in a language (hello, history, due check).
            models.Index(fields=["event", "lang", "-created_at"], name="summary_latest_idx"),
        ]

    def __str__(self):
        return f"{self.event} [{self.lang}] {self.text[:60]}"
