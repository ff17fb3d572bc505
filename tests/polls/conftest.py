import pytest

from polls import services
from tests.events.conftest import moderator, producer, role_user, superuser  # noqa: F401  (shared fixtures)


@pytest.fixture
def make_poll(live_event, producer):
    def make(**data):
        data = {"question": "Who wins gold?", "options": ["Brunner", "Solberg", "Aebersold"], "duration_s": 60, **data}
        event = data.pop("event", live_event)
        return services.poll_create(event=event, by=producer, data=data)

    return make


@pytest.fixture
def open_poll(make_poll, producer):
    return services.poll_launch(poll=make_poll(), by=producer)
