"""seed_demo makes the demo event ready for the feed player, as often as it runs."""
import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from accounts.models import User
from events.roles import is_producer

pytestmark = pytest.mark.django_db


def test_seed_demo_creates_a_producer_with_a_token_once():
    call_command("seed_demo", comments=5)
    call_command("seed_demo", comments=5)
    producer = User.objects.get(username="demo-producer")
    assert is_producer(producer) and producer.is_staff
    assert Token.objects.filter(user=producer).count() == 1
