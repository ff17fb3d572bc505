import pytest
from django.test import override_settings
from rest_framework.authtoken.models import Token

from accounts import services
from accounts.models import User
from companion.errors import ServiceError

pytestmark = pytest.mark.django_db


def test_guest_create_makes_a_guest_without_password():
    """A guest has a guest-<random> username, the cleaned name, is_guest and no usable password."""
    user = services.guest_create(display_name="  Ann   Lee  ")
    user.refresh_from_db()
    assert user.username.startswith("guest-")
    assert len(user.username) > len("guest-")
    assert user.display_name == "Ann Lee"
    assert user.name == "Ann Lee"
    assert user.is_guest is True
    assert user.has_usable_password() is False
    assert user.is_active is True
    assert user.roles() == []


def test_guest_usernames_are_unique():
    """Two guests with the same display name get different usernames."""
    first = services.guest_create(display_name="Sam")
    second = services.guest_create(display_name="Sam")
    assert first.username != second.username


def test_guest_create_draws_again_when_the_username_is_taken(monkeypatch):
    """When the random username already exists, another one is drawn."""
    User.objects.create_user(username="guest-aaaaaaaaaa")
    draws = iter(["aaaaaaaaaa", "bbbbbbbbbb"])
    monkeypatch.setattr(services.secrets, "token_hex", lambda n: next(draws))
    user = services.guest_create(display_name="Sam")
    assert user.username == "guest-bbbbbbbbbb"


def test_a_forty_character_name_is_accepted():
    """Names of exactly 40 characters (after stripping) are accepted."""
    assert services.guest_create(display_name=" " + "a" * 40 + " ").display_name == "a" * 40


def test_emoji_with_zero_width_joiner_is_accepted():
    """The zero-width joiner inside emoji sequences is not treated as a control character."""
    name = "Fan \U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert services.display_name_clean(display_name=name) == name


@pytest.mark.parametrize(
    "display_name",
    [
        "",
        "   ",
        "\t\n",
        "a" * 41,
        "Ann\nLee",
        "Ann\x00",
        "evil\u202ename",  # right-to-left override
        None,
        42,
    ],
    ids=["empty", "spaces", "whitespace", "too-long", "newline", "nul", "bidi-override", "none", "number"],
)
def test_invalid_display_names_are_refused(display_name):
    """Blank, too long, control characters or not text: refused with invalid_display_name, nothing created."""
    with pytest.raises(ServiceError) as excinfo:
        services.guest_create(display_name=display_name)
    assert excinfo.value.code == "invalid_display_name"
    assert excinfo.value.details == {"field": "display_name"}
    assert not User.objects.exists()


@override_settings(GUEST_RATE_COUNT=2, GUEST_RATE_WINDOW=600)
def test_guest_create_is_rate_limited_per_address():
    """Past GUEST_RATE_COUNT guests per window from one address, rate_limited; other addresses still join."""
    services.guest_create(display_name="a", ip="10.0.0.1")
    services.guest_create(display_name="b", ip="10.0.0.1")
    with pytest.raises(ServiceError) as excinfo:
        services.guest_create(display_name="c", ip="10.0.0.1")
    assert excinfo.value.code == "rate_limited"
    assert excinfo.value.details["retry_after"] > 0
    services.guest_create(display_name="d", ip="10.0.0.2")
    assert User.objects.count() == 3


def test_token_get_or_create_returns_the_same_token():
    """Asking twice gives the same key."""
    user = User.objects.create_user(username="ann", password="x")
    first = services.token_get_or_create(user=user)
    assert services.token_get_or_create(user=user).key == first.key
    assert Token.objects.filter(user=user).count() == 1


def test_token_rotate_replaces_the_key():
    """Rotating gives a new key and removes the old one."""
    user = User.objects.create_user(username="ann", password="x")
    old = services.token_get_or_create(user=user).key
    new = services.token_rotate(user=user).key
    assert new != old
    assert not Token.objects.filter(key=old).exists()
    assert list(Token.objects.filter(user=user).values_list("key", flat=True)) == [new]


def test_token_rotate_without_a_token_creates_one():
    """Rotating before any token exists simply creates one."""
    user = User.objects.create_user(username="ann", password="x")
    assert services.token_rotate(user=user).key
