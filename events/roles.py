"""
Who produces: superusers, and active accounts in the ``producers`` group
(DESIGN's fixed role names). Producers run events, stats, key moments and
polls; they are staff, so Django admin lets them in, with the permissions
below (read-only where a write must go through a service to reach viewers).
"""
from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS

from accounts.roles import group_sync, has_role
from companion.errors import ServiceError

PRODUCERS = "producers"

PRODUCER_PERMISSIONS = {
    "events": ["view_event", "add_event", "change_event", "view_statssnapshot", "view_keymoment"],
    "polls": ["view_poll", "view_polloption"],
}


def is_producer(user) -> bool:
    """May ``user`` act as one of the producers? (One query for non-superusers.)"""
    return has_role(user, PRODUCERS)


def producer_check(user) -> None:
    """Raise ``auth_required`` for anonymous users and ``forbidden`` for everyone but producers."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise ServiceError("auth_required", "Sign in as a producer.")
    if not is_producer(user):
        raise ServiceError("forbidden", "Only producers can do that.")


def sync_producers_group(*, apps=global_apps, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    """Create the ``producers`` group with its permissions (a migration and post_migrate both call this)."""
    group_sync(PRODUCERS, PRODUCER_PERMISSIONS, apps=apps, using=using)
