"""Moderation fixtures: a moderator, a producer who is not one, and a probe on what gets published."""
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.models import Group, Permission

from chat import wire
from moderation import rules
from moderation.roles import MODERATORS


@pytest.fixture(autouse=True)
def fresh_rules():
    rules._cache.clear()
    yield
    rules._cache.clear()


@pytest.fixture
def moderator(make_user):
    user = make_user("mod", display_name="Mo", is_staff=True)
    user.groups.add(Group.objects.get(name=MODERATORS))
    return user


@pytest.fixture
def producer(make_user):
    """Staff in the producers group, even given comment permissions by mistake: still no moderation."""
    user = make_user("prod", is_staff=True)
    group, _ = Group.objects.get_or_create(name="producers")
    group.permissions.add(*Permission.objects.filter(codename__in=["view_comment", "change_comment", "view_sanction"]))
    user.groups.add(group)
    return user


class Published:
    """Messages sent to an event's room group and moderation group, as a layer member receives them."""

    def __init__(self, event_id):
        self.layer = get_channel_layer()
        self.room = async_to_sync(self.layer.new_channel)()
        self.mods = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(wire.room_group(event_id), self.room)
        async_to_sync(self.layer.group_add)(wire.moderation_group(event_id), self.mods)

    def _drain(self, channel):
        import asyncio

        async def drain():
            messages = []
            while True:
                try:
                    messages.append(await asyncio.wait_for(self.layer.receive(channel), 0.05))
                except asyncio.TimeoutError:
                    return messages

        return async_to_sync(drain)()

    def room_messages(self):
        return self._drain(self.room)

    def mod_frames(self):
        return [m["frame"] for m in self._drain(self.mods)]


@pytest.fixture
def published(live_event):
    return Published(live_event.pk)


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
