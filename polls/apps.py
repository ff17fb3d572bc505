from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PollsConfig(AppConfig):
    name = "polls"
    verbose_name = "Polls"

    def ready(self):
        from events.roles import sync_producers_group

        # Also after a flush (transactional tests), which empties the group table.
        post_migrate.connect(sync_producers_group, sender=self, dispatch_uid="producers-group")
