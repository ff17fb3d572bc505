from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """An account. Viewers, moderators and producers are all users; roles are groups."""

    display_name = models.CharField(max_length=40, blank=True)
    is_guest = models.BooleanField(
        default=False, help_text="Created in one step by 'join as guest'; has no password."
    )

    @property
    def name(self) -> str:
        """The name shown next to this account's comments."""
        return self.display_name or self.username

    def roles(self) -> list[str]:
        if self.is_superuser:
            return ["moderator", "producer", "superuser"]
        groups = {g.name for g in self.groups.all()}
        return [role for role, group in (("moderator", "moderators"), ("producer", "producers")) if group in groups]
