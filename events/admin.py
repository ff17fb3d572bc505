"""
Events in admin. Details (title, description, video, languages) are edited
here; the lifecycle (go live, end) goes through the services, which start the
broadcast clock and tell open pages, so status and clock are read-only and
offered as actions. Stats and key moments are the record: read-only.
"""
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from companion.errors import ServiceError

from . import services
from .models import Event, KeyMoment


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "status", "scheduled_start", "started_at", "console")
    list_filter = ("status",)
    search_fields = ("title", "slug")
    readonly_fields = ("status", "started_at", "ended_at", "created_by", "created_at")
    actions = ["go_live", "end"]

    @admin.display(description="Console")
    def console(self, event):
        return format_html('<a href="{}">Producer console</a>', reverse("event-console", args=[event.slug]))

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def _lifecycle(self, request, queryset, service, done: str):
        for event in queryset:
            try:
                service(event=event, by=request.user)
            except ServiceError as error:
                self.message_user(request, f"{event}: {error.message}", messages.WARNING)
            else:
                self.message_user(request, f"{event}: {done}.")

    @admin.action(description="Go live (start the broadcast clock)", permissions=["change"])
    def go_live(self, request, queryset):
        self._lifecycle(request, queryset, services.event_go_live, "live")

    @admin.action(description="End", permissions=["change"])
    def end(self, request, queryset):
        self._lifecycle(request, queryset, services.event_end, "ended")


@admin.register(KeyMoment)
class KeyMomentAdmin(admin.ModelAdmin):
    list_display = ("title", "kind", "event", "media_ms", "created_at")
    list_filter = ("kind",)
    search_fields = ("title", "detail", "event__slug")
    readonly_fields = ("event", "media_ms", "kind", "title", "detail", "by", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
