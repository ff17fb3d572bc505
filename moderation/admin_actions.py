"""
What every moderation admin shares: moderators only, and actions that ask
for a reason on a confirmation page, then call a service.
"""
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from companion.errors import ServiceError

from .forms import ReasonForm
from .roles import is_moderator


def request_moderates(request) -> bool:
    """``is_moderator`` once per request (admin asks many times per page)."""
    cached = getattr(request, "_companion_moderates", None)
    if cached is None:
        cached = request._companion_moderates = is_moderator(request.user)
    return cached


class ModeratorsOnly:
    """
    Moderation tools are for moderators and superusers, whatever model
    permissions a producer or other staff account may have been given.
    """

    def has_module_permission(self, request):
        return request_moderates(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return request_moderates(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return request_moderates(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return request_moderates(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request_moderates(request) and super().has_delete_permission(request, obj)


def confirm_action(
    modeladmin: admin.ModelAdmin,
    request,
    queryset,
    *,
    title: str,
    verb: str,
    apply,
    form_class=ReasonForm,
    summary: str = "",
):
    """
    The confirmation page of a bulk action: the selection, a reason (and
    whatever ``form_class`` adds), then ``apply(form)`` -> a message for the
    moderator. A ServiceError becomes an error message. Returns the page, or
    None to go back to the (filtered) changelist.
    """
    if request.POST.get("post") == "yes":
        form = form_class(request.POST)
        if form.is_valid():
            try:
                message = apply(form)
            except ServiceError as error:
                modeladmin.message_user(request, error.message, messages.ERROR)
            else:
                modeladmin.message_user(request, message, messages.SUCCESS)
            return None
    else:
        form = form_class()
    opts = modeladmin.model._meta
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "verb": verb,
        "summary": summary,
        "form": form,
        "opts": opts,
        "app_label": opts.app_label,
        "count": queryset.count(),
        "preview": list(queryset[:20]),
        "action": request.POST.get("action", ""),
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        "media": modeladmin.media + form.media,
    }
    return TemplateResponse(request, "admin/moderation/action_confirm.html", context)
