from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ModerationConfig(AppConfig):
    name = "moderation"
    verbose_name = "Moderation"

    def ready(self):
        from .roles import sync_moderators_group

        # Also after a flush (transactional tests), which empties the group table.
        post_migrate.connect(sync_moderators_group, sender=self, dispatch_uid="moderation-group")
