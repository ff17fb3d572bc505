"""Summaries in admin: the read-only history of what viewers were told, with its cost."""
from django.contrib import admin

from .models import Summary


@admin.register(Summary)
class SummaryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "event", "lang", "short_text", "provider", "model", "latency_ms", "tokens", "covers")
    list_filter = ("lang", "provider", "event")
    search_fields = ("text", "event__title", "event__slug")
    date_hierarchy = "created_at"
    list_select_related = ("event",)
    ordering = ("-created_at", "-id")
    fields = (
        "event", "lang", "text", "provider", "model", "window_key", "covers_from_ms", "covers_to_ms",
        "latency_ms", "prompt_tokens", "completion_tokens", "last_comment_id", "facts_digest", "stats_snapshot",
        "created_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="text")
    def short_text(self, summary):
        return summary.text if len(summary.text) <= 90 else summary.text[:89] + "…"

    @admin.display(description="tokens in/out")
    def tokens(self, summary):
        if summary.prompt_tokens is None and summary.completion_tokens is None:
            return "—"
        return f"{summary.prompt_tokens or 0}/{summary.completion_tokens or 0}"

    @admin.display(description="covers", ordering="covers_to_ms")
    def covers(self, summary):
        return f"{clock(summary.covers_from_ms)}–{clock(summary.covers_to_ms)}"


def clock(ms: int) -> str:
    seconds = ms // 1000
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
