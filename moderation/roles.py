"""
Who moderates: superusers, and active accounts in the ``moderators`` group
(DESIGN's fixed role names). Producers are staff too, but get none of this.
"""
from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS

MODERATORS = "moderators"

# What the group may do in admin. Comments are changed only through the
# moderation actions (the admin shows them read-only); no deletes anywhere
# but blocked terms.
MODERATOR_PERMISSIONS = {
    "chat": ["view_comment", "change_comment"],
    "moderation": [
        "view_sanction", "add_sanction", "change_sanction",
        "view_blockedterm", "add_blockedterm", "change_blockedterm", "delete_blockedterm",
        "view_roomsettings", "add_roomsettings", "change_roomsettings",
        "view_moderationlog",
        "view_liveroom",
    ],
}


def is_moderator(user) -> bool:
    """May ``user`` moderate? (One query for non-superusers.)"""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=MODERATORS).exists()


def sync_moderators_group(*, apps=global_apps, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    """Create the ``moderators`` group with its permissions (a migration and post_migrate both call this)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(using).get_or_create(name=MODERATORS)
    wanted = []
    for app_label, codenames in MODERATOR_PERMISSIONS.items():
        wanted += list(
            Permission.objects.using(using).filter(content_type__app_label=app_label, codename__in=codenames)
        )
    group.permissions.add(*wanted)
