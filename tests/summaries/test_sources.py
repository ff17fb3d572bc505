"""The summaries read the producers' stats and key moments."""
import pytest

from events import services as events_services
from summaries.sources import event_facts

pytestmark = pytest.mark.django_db


def test_facts_are_empty_before_any_push(live_event):
    assert event_facts(live_event) == {"stats": None, "moments": []}


def test_facts_carry_the_current_stats_and_the_moments_in_media_order(live_event, django_user_model):
    from django.contrib.auth.models import Group

    producer = django_user_model.objects.create_user(username="prod", password="pw-companion-1", is_staff=True)
    producer.groups.add(Group.objects.get_or_create(name="producers")[0])
    events_services.stats_push(
        event=live_event,
        by=producer,
        data={"scoreboard": {"sides": [{"name": "Italy", "score": 2}, {"name": "France", "score": 1}], "period": "2nd", "clock": "67:12"}},
    )
    events_services.moment_push(event=live_event, by=producer, data={"kind": "goal", "title": "Second goal", "media_ms": 9000})
    events_services.moment_push(event=live_event, by=producer, data={"kind": "goal", "title": "First goal", "media_ms": 3000})
    facts = event_facts(live_event)
    assert facts["stats"]["scoreboard"]["sides"][0] == {"name": "Italy", "score": 2}
    assert [m["title"] for m in facts["moments"]] == ["First goal", "Second goal"]
