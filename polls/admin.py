"""
Polls in admin: read-only. Launching, closing and voting go through the
services (console and API), which broadcast to viewers; admin shows the record.
"""
from django.contrib import admin

from .models import Poll, PollOption


class PollOptionInline(admin.TabularInline):
    model = PollOption
    fields = ("label", "position")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Poll)
class PollAdmin(admin.ModelAdmin):
    list_display = ("question", "event", "status", "results_visibility", "duration_s", "opens_at", "closes_at")
    list_filter = ("status", "results_visibility")
    search_fields = ("question", "event__title", "event__slug")
    inlines = [PollOptionInline]
    readonly_fields = [f.name for f in Poll._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
