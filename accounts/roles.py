"""
Roles are Django groups (DESIGN's fixed names: ``moderators``, ``producers``);
superusers hold every role. Each app that owns a role declares its group's
admin permissions and keeps the group in step with ``group_sync``.
"""
from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS


def has_role(user, group: str) -> bool:
    """Is ``user`` an active superuser or member of ``group``? (One query for non-superusers.)"""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.groups.filter(name=group).exists()


def group_sync(name: str, permissions: dict[str, list[str]], *, apps=global_apps, using=DEFAULT_DB_ALIAS) -> None:
    """Create group ``name`` and grant it ``{app_label: [codename, ...]}`` (migrations and post_migrate call this)."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.using(using).get_or_create(name=name)
    wanted = []
    for app_label, codenames in permissions.items():
        wanted += list(
            Permission.objects.using(using).filter(content_type__app_label=app_label, codename__in=codenames)
        )
    group.permissions.add(*wanted)
