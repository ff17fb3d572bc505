"""
Comments in admin: the moderators' list. Read-only rows; every change is a
bulk action that asks for a reason and calls a moderation service, so it is
logged, retracted from screens and published exactly as from anywhere else.
"""
from collections import Counter

from django.contrib import admin
from django.utils.html import format_html

from companion.errors import ServiceError
from events.models import Event
from moderation import services
from moderation.admin_actions import ModeratorsOnly, confirm_action
from moderation.forms import ReasonForm, TimeoutForm

from .models import Comment

# The author filter offers the most frequent authors among this many latest
# comments (a list of every account would not fit), plus the one filtered on.
AUTHOR_SAMPLE = 500


class AuthorFilter(admin.SimpleListFilter):
    title = "author"
    parameter_name = "author"

    def lookups(self, request, model_admin):
        latest = Comment.objects.order_by("-id").values_list("author_id", "author__username")[:AUTHOR_SAMPLE]
        counts = Counter(latest)
        choices = [(str(pk), f"{name} ({n})") for (pk, name), n in counts.most_common(15)]
        current = self.value()
        if current and current.isdigit() and current not in {pk for pk, _ in choices}:
            user = Comment._meta.get_field("author").related_model.objects.filter(pk=current).first()
            if user is not None:
                choices.insert(0, (current, user.username))
        return choices

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(author_id=int(value))


@admin.register(Comment)
class CommentAdmin(ModeratorsOnly, admin.ModelAdmin):
    list_display = ("created_at", "event", "author_link", "text", "status", "media_clock")
    list_display_links = ("created_at",)
    list_filter = ("event", "status", AuthorFilter)
    search_fields = ("text", "author__username", "author__display_name")
    date_hierarchy = "created_at"
    ordering = ("-created_at", "-id")
    list_select_related = ("event", "author")
    list_per_page = 100
    # COUNT(*) over a hot event's comments on every page load is the slow part.
    show_full_result_count = False
    actions = ["hide", "restore", "approve", "reject", "timeout_authors", "ban_authors"]
    fields = ("event", "author", "text", "status", "color", "mode", "size", "media_ms", "created_at")
    readonly_fields = fields
    change_list_template = "admin/moderation/comment_change_list.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # Comments are hidden or rejected, never deleted from here: the log keeps pointing at them.
        return False

    def has_change_permission(self, request, obj=None):
        # The list's actions need "change"; a single comment's page is read-only.
        return obj is None and super().has_change_permission(request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "live_events": Event.objects.filter(status=Event.Status.LIVE).order_by("-started_at")[:5],
        }
        return super().changelist_view(request, extra_context)

    @admin.display(description="author", ordering="author__username")
    def author_link(self, comment):
        return format_html('<a href="?author={}" title="Only this author">{}</a>', comment.author_id, comment.author.name)

    @admin.display(description="at", ordering="media_ms")
    def media_clock(self, comment):
        seconds = comment.media_ms // 1000
        return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"

    # --- actions: each asks for a reason, then calls the service -------------------------

    def _comment_action(self, request, queryset, *, service, verb, done):
        def apply(form):
            selected = queryset.count()
            changed = service(comments=queryset, by=request.user, reason=form.cleaned_data["reason"])
            skipped = selected - len(changed)
            message = f"{done} {len(changed)} comment{'s' if len(changed) != 1 else ''}."
            if skipped > 0:
                message += f" {skipped} already had another status and {'were' if skipped > 1 else 'was'} left as {'they were' if skipped > 1 else 'it was'}."
            return message

        return confirm_action(self, request, queryset, title=f"{verb} comments", verb=verb, apply=apply)

    @admin.action(description="Hide: retract from every screen and the replay", permissions=["change"])
    def hide(self, request, queryset):
        return self._comment_action(request, queryset, service=services.comment_hide, verb="Hide", done="Hid")

    @admin.action(description="Restore hidden comments to the replay", permissions=["change"])
    def restore(self, request, queryset):
        return self._comment_action(request, queryset, service=services.comment_restore, verb="Restore", done="Restored")

    @admin.action(description="Approve held comments: broadcast them", permissions=["change"])
    def approve(self, request, queryset):
        return self._comment_action(request, queryset, service=services.comment_approve, verb="Approve", done="Approved")

    @admin.action(description="Reject", permissions=["change"])
    def reject(self, request, queryset):
        return self._comment_action(request, queryset, service=services.comment_reject, verb="Reject", done="Rejected")

    def _authors(self, queryset):
        """Each selected author once, with the event of their latest selected comment (where they are told)."""
        latest = {}
        for comment in queryset.select_related("author", "event").order_by("-id")[:1000]:
            latest.setdefault(comment.author_id, comment)
        return [(c.author, c.event) for c in latest.values()]

    def _sanction_action(self, request, queryset, *, verb, form_class, sanction):
        authors = self._authors(queryset)

        def apply(form):
            done, refused = [], []
            for user, event in authors:
                try:
                    sanction(form, user=user, event=event)
                except ServiceError as error:
                    refused.append(f"{user.username}: {error.message}")
                else:
                    done.append(user.username)
            message = f"{verb}: {', '.join(done) or 'nobody'}."
            if refused:
                message += " Not sanctioned: " + "; ".join(refused)
            return message

        names = ", ".join(sorted(user.username for user, _ in authors))
        return confirm_action(
            self, request, queryset, title=f"{verb} authors", verb=verb, apply=apply, form_class=form_class,
            summary=f"Authors: {names}",
        )

    @admin.action(description="Time out the authors", permissions=["change"])
    def timeout_authors(self, request, queryset):
        def sanction(form, *, user, event):
            services.author_timeout(
                user=user, duration=form.duration(), by=request.user, reason=form.cleaned_data["reason"], event=event
            )

        return self._sanction_action(request, queryset, verb="Time out", form_class=TimeoutForm, sanction=sanction)

    @admin.action(description="Ban the authors", permissions=["change"])
    def ban_authors(self, request, queryset):
        def sanction(form, *, user, event):
            services.author_ban(user=user, by=request.user, reason=form.cleaned_data["reason"], event=event)

        return self._sanction_action(request, queryset, verb="Ban", form_class=ReasonForm, sanction=sanction)
