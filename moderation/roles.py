"""
Who moderates: superusers, and active accounts in the ``moderators`` group
(DESIGN's fixed role names). Producers are staff too, but get none of this.
"""
from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS

from accounts.roles import group_sync, has_role

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
    """May ``user`` act as one of the moderators? (One query for non-superusers.)"""
    return has_role(user, MODERATORS)


def sync_moderators_group(*, apps=global_apps, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    """Create the ``moderators`` group with its permissions (a migration and post_migrate both call this)."""
    group_sync(MODERATORS, MODERATOR_PERMISSIONS, apps=apps, using=using)
