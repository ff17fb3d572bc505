"""
Moderation in admin: sanctions, blocked terms, room settings, the log, and
the live rooms (the way into each event's live moderation page). Every save,
delete and action goes through moderation.services.
"""
from datetime import timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from chat import wire
from chat.models import Comment
from events.models import Event

from . import services
from .admin_actions import ModeratorsOnly, confirm_action, request_moderates
from .forms import DURATIONS, DEFAULT_TIMEOUT_MINUTES, BlockedTermForm, RoomSettingsForm, SanctionForm
from .models import BlockedTerm, LiveRoom, ModerationLog, RoomSettings, Sanction


def copy_into(target, source) -> None:
    """After a service saved ``source``, make the admin's own instance the same row."""
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


class ActiveFilter(admin.SimpleListFilter):
    title = "in force"
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return [("yes", "In force"), ("no", "Ended or lifted")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.active()
        if self.value() == "no":
            return queryset.exclude(pk__in=Sanction.objects.active().values("pk"))
        return queryset


@admin.register(Sanction)
class SanctionAdmin(ModeratorsOnly, admin.ModelAdmin):
    form = SanctionForm
    list_display = ("user", "kind", "ends_at", "in_force", "reason", "created_by", "created_at", "lifted_at")
    list_filter = (ActiveFilter, "kind", "created_at")
    search_fields = ("user__username", "user__display_name", "reason")
    list_select_related = ("user", "created_by")
    ordering = ("-created_at",)
    actions = ["lift"]
    readonly_fields = ("user", "kind", "ends_at", "reason", "created_by", "created_at", "lifted_at", "lifted_by")

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["username", "kind", "minutes", "reason"]
        return list(self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, **kwargs)
        form = super().get_form(request, obj, **kwargs)

        class RequestSanctionForm(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, request=request, **kw)

        return RequestSanctionForm

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(boolean=True, description="in force")
    def in_force(self, sanction):
        return sanction.is_active()

    def save_model(self, request, obj, form, change):
        if change:  # existing sanctions are read-only; "Lift" ends them
            return
        data = form.cleaned_data
        if data["kind"] == Sanction.Kind.BAN:
            sanction = services.author_ban(user=data["username"], by=request.user, reason=data["reason"])
        else:
            sanction = services.author_timeout(
                user=data["username"],
                duration=timedelta(minutes=data["minutes"]),
                by=request.user,
                reason=data["reason"],
            )
        copy_into(obj, sanction)

    @admin.action(description="Lift: end every time-out and ban of these accounts", permissions=["change"])
    def lift(self, request, queryset):
        users = {s.user_id: s.user for s in queryset.select_related("user")}

        def apply(form):
            lifted = sum(
                services.author_unban(user=user, by=request.user, reason=form.cleaned_data["reason"])
                for user in users.values()
            )
            return f"Lifted {lifted} sanction{'s' if lifted != 1 else ''}."

        return confirm_action(
            self, request, queryset, title="Lift sanctions", verb="Lift", apply=apply,
            summary="Accounts: " + ", ".join(sorted(u.username for u in users.values())),
        )


@admin.register(BlockedTerm)
class BlockedTermAdmin(ModeratorsOnly, admin.ModelAdmin):
    form = BlockedTermForm
    list_display = ("pattern", "is_regex", "action", "scope", "is_active", "note", "created_by", "created_at")
    list_filter = ("action", "is_regex", "is_active", "event")
    search_fields = ("pattern", "note")
    list_select_related = ("event", "created_by")
    fields = ("event", "pattern", "is_regex", "action", "is_active", "note", "log_reason")

    @admin.display(description="event", ordering="event")
    def scope(self, term):
        return term.event or "every event"

    def save_model(self, request, obj, form, change):
        services.term_save(term=obj, by=request.user, reason=form.cleaned_data.get("log_reason", ""))

    def delete_model(self, request, obj):
        services.term_delete(term=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for term in queryset:
            services.term_delete(term=term, by=request.user)


@admin.register(RoomSettings)
class RoomSettingsAdmin(ModeratorsOnly, admin.ModelAdmin):
    form = RoomSettingsForm
    list_display = ("event", "slow_mode_seconds", "who_may_post", "min_account_age_minutes", "rate_count", "rate_window", "updated_by", "updated_at")
    list_select_related = ("event", "updated_by")
    search_fields = ("event__title", "event__slug")
    fields = ("event", "slow_mode_seconds", "who_may_post", "min_account_age_minutes", "rate_count", "rate_window", "log_reason")

    def get_readonly_fields(self, request, obj=None):
        return ("event",) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        services.room_settings_save(room_settings=obj, by=request.user, reason=form.cleaned_data.get("log_reason", ""))


@admin.register(ModerationLog)
class ModerationLogAdmin(ModeratorsOnly, admin.ModelAdmin):
    list_display = ("at", "actor_display", "action", "target_repr", "event", "reason")
    list_filter = ("action", ("actor", admin.RelatedOnlyFieldListFilter), "event", "at")
    search_fields = ("target_repr", "reason", "actor_name")
    date_hierarchy = "at"
    list_select_related = ("event",)
    show_full_result_count = False
    fields = ("at", "actor", "actor_name", "action", "event", "target_type", "target_id", "target_repr", "reason", "details")
    readonly_fields = fields

    @admin.display(description="who", ordering="actor_name")
    def actor_display(self, entry):
        return entry.actor_name or "screening"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LiveRoom)
class LiveRoomAdmin(ModeratorsOnly, admin.ModelAdmin):
    """Events, live first, each with its live moderation page, held queue and room settings."""

    list_display = ("title", "status", "started_at", "held", "moderate")
    list_filter = ("status",)
    search_fields = ("title", "slug")
    list_display_links = None

    def get_queryset(self, request):
        held = Count("comments", filter=Q(comments__status=Comment.Status.HELD))
        return super().get_queryset(request).annotate(held_count=held)

    def get_ordering(self, request):
        live_first = Case(
            When(status=Event.Status.LIVE, then=Value(0)),
            When(status=Event.Status.SCHEDULED, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
        return [live_first.asc(), "-started_at", "-id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="held for review", ordering="held_count")
    def held(self, event):
        url = reverse("admin:chat_comment_changelist") + "?" + urlencode({"event__id__exact": event.pk, "status__exact": "held"})
        return format_html('<a href="{}">{}</a>', url, event.held_count)

    @admin.display(description="")
    def moderate(self, event):
        return format_html('<a class="button" href="{}">Moderate live</a>', reverse("admin:moderation_live", args=[event.slug]))

    def get_urls(self):
        live = self.admin_site.admin_view(self.live_view)
        return [path("<slug:slug>/", live, name="moderation_live")] + super().get_urls()

    def live_view(self, request, slug):
        """The live moderation page: the event's comments stream in over /ws/moderate/<slug>/."""
        if not request_moderates(request):
            raise PermissionDenied
        event = get_object_or_404(Event, slug=slug)
        room_settings = RoomSettings.objects.filter(event=event).first()
        settings_url = (
            reverse("admin:moderation_roomsettings_change", args=[room_settings.pk])
            if room_settings
            else reverse("admin:moderation_roomsettings_add") + "?" + urlencode({"event": event.pk})
        )
        comments = reverse("admin:chat_comment_changelist")
        config = {
            "event": wire.event_payload(event),
            "ws_path": f"/ws/moderate/{event.slug}/",
            "durations": [{"minutes": m, "label": label} for m, label in DURATIONS],
            "default_minutes": DEFAULT_TIMEOUT_MINUTES,
            "urls": {
                "comments": comments + "?" + urlencode({"event__id__exact": event.pk}),
                "held": comments + "?" + urlencode({"event__id__exact": event.pk, "status__exact": "held"}),
                "settings": settings_url,
                "room": event.get_absolute_url(),
                "author": comments + "?" + urlencode({"event__id__exact": event.pk}) + "&author=",
            },
            "max_rows": 500,
        }
        context = {
            **self.admin_site.each_context(request),
            "title": f"Live moderation: {event.title}",
            "subtitle": None,
            "event": event,
            "room_settings": room_settings,
            "opts": self.model._meta,
            "app_label": self.model._meta.app_label,
            "config": config,
        }
        return TemplateResponse(request, "admin/moderation/live.html", context)
