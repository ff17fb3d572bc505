import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts import services
from accounts.models import User
from events.models import Event

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-9"


@pytest.fixture
def user():
    return User.objects.create_user(username="ann", password=PASSWORD, display_name="Ann")


@pytest.fixture
def live_event():
    return Event.objects.create(title="Final", slug="final", status=Event.Status.LIVE, started_at=timezone.now())


def session_user(client):
    return User.objects.get(pk=client.session["_auth_user_id"]) if "_auth_user_id" in client.session else None


# --- join as guest -----------------------------------------------------------------


def test_guest_join_creates_an_account_logs_in_and_redirects_to_next(client):
    """POST a name: a guest account is created, logged in, and sent to the local next."""
    response = client.post(reverse("guest"), {"display_name": "Viewer 1", "next": "/events/final/"})
    assert response.status_code == 302
    assert response["Location"] == "/events/final/"
    guest = session_user(client)
    assert guest is not None and guest.is_guest and guest.name == "Viewer 1"


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/", "//evil.example/", "http://evil.example/events/final/", "javascript:alert(1)"],
)
def test_guest_join_ignores_an_external_next(client, next_url):
    """A next pointing off-site is ignored: the guest lands on LOGIN_REDIRECT_URL (home)."""
    response = client.post(reverse("guest"), {"display_name": "Viewer", "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert session_user(client) is not None


def test_guest_join_without_next_goes_home(client):
    """Without next, the guest lands on the home page."""
    response = client.post(reverse("guest"), {"display_name": "Viewer"})
    assert response["Location"] == reverse("home")


@pytest.mark.parametrize("display_name", ["", "   ", "x" * 41, "bad\u202ename"], ids=["empty", "blank", "long", "bidi"])
def test_guest_join_refuses_an_invalid_name(client, display_name):
    """An invalid name re-renders the guest form with the error (400); nobody is created or logged in."""
    response = client.post(reverse("guest"), {"display_name": display_name, "next": "/events/final/"})
    assert response.status_code == 400
    assert b'role="alert"' in response.content
    assert b'name="next" value="/events/final/"' in response.content
    assert "accounts/guest.html" in [t.name for t in response.templates]
    assert response.context["error"].code == "invalid_display_name"
    assert not User.objects.exists()
    assert session_user(client) is None


def test_guest_join_refused_page_drops_an_external_next(client):
    """When the name is refused, an off-site next is not carried into the re-rendered form."""
    response = client.post(reverse("guest"), {"display_name": "", "next": "https://evil.example/"})
    assert response.status_code == 400
    assert b"evil.example" not in response.content


def test_guest_join_is_post_only(client):
    """GET on the guest URL is refused with 405."""
    assert client.get(reverse("guest")).status_code == 405


def test_guest_join_requires_csrf():
    """The guest form is CSRF protected."""
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(reverse("guest"), {"display_name": "Viewer"})
    assert response.status_code == 403
    assert not User.objects.exists()


def test_guest_join_when_logged_in_creates_nothing(client, user):
    """A logged-in user posting the guest form keeps their account and is just redirected."""
    client.force_login(user)
    response = client.post(reverse("guest"), {"display_name": "Other", "next": "/events/final/"})
    assert response["Location"] == "/events/final/"
    assert User.objects.count() == 1
    assert session_user(client) == user


def test_guest_join_is_rate_limited_per_address(client, settings):
    """Too many guests from one address get a 429 page."""
    settings.GUEST_RATE_COUNT = 1
    client.post(reverse("guest"), {"display_name": "One"})
    client.logout()
    response = client.post(reverse("guest"), {"display_name": "Two"})
    assert response.status_code == 429
    assert User.objects.count() == 1


# --- log in, sign up, log out ------------------------------------------------------


def test_login_page_has_labelled_fields_and_a_guest_form(client):
    """The login page labels its fields and offers the guest form, carrying a safe next."""
    response = client.get(reverse("login"), {"next": "/events/final/"})
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_username"' in html and '<label for="id_password"' in html
    assert f'action="{reverse("guest")}"' in html
    assert '<label for="guest-display-name"' in html
    assert html.count('name="next" value="/events/final/"') == 2


def test_login_redirects_to_next(client, user):
    """Logging in with a local next goes there."""
    response = client.post(reverse("login"), {"username": "ann", "password": PASSWORD, "next": "/events/final/"})
    assert response["Location"] == "/events/final/"
    assert session_user(client) == user


def test_login_with_a_wrong_password_shows_one_error(client, user):
    """A failed login re-renders the page with the error once, in an alert."""
    response = client.post(reverse("login"), {"username": "ann", "password": "wrong"})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("Please enter a correct username and password") == 1
    assert '<div class="errors" role="alert">' in html
    assert session_user(client) is None


def test_logout_is_post(client, user):
    """Logging out is a POST and ends the session."""
    client.force_login(user)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert session_user(client) is None


def test_signup_page_labels_every_field(client):
    """Every signup field has a label."""
    html = client.get(reverse("signup")).content.decode()
    for field in ("username", "display_name", "password1", "password2"):
        assert f'<label for="id_{field}"' in html


def test_signup_creates_an_account_and_logs_in(client):
    """A valid signup creates a non-guest user with a password, logs in and honours a local next."""
    response = client.post(
        reverse("signup"),
        {
            "username": "newviewer",
            "display_name": "  New  Viewer ",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "next": "/events/final/",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/events/final/"
    created = User.objects.get(username="newviewer")
    assert created.display_name == "New Viewer"
    assert not created.is_guest
    assert created.check_password(PASSWORD)
    assert session_user(client) == created


def test_signup_ignores_an_external_next(client):
    """An off-site next after signup is ignored in favour of home."""
    response = client.post(
        reverse("signup"),
        {"username": "newviewer", "password1": PASSWORD, "password2": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("home")


def test_signup_display_name_is_optional(client):
    """Without a display name, the username is the shown name."""
    client.post(reverse("signup"), {"username": "plain", "password1": PASSWORD, "password2": PASSWORD})
    created = User.objects.get(username="plain")
    assert created.display_name == ""
    assert created.name == "plain"


def test_signup_rejects_a_password_mismatch(client):
    """Mismatched passwords re-render the form with an error and create nothing."""
    response = client.post(
        reverse("signup"), {"username": "newviewer", "password1": PASSWORD, "password2": PASSWORD + "x"}
    )
    assert response.status_code == 200
    assert "password2" in response.context["form"].errors
    assert not User.objects.exists()
    assert session_user(client) is None


def test_signup_rejects_an_invalid_display_name(client):
    """A display name with control characters is refused with the service's code."""
    response = client.post(
        reverse("signup"),
        {"username": "newviewer", "display_name": "a\nb", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.context["form"].has_error("display_name", code="invalid_display_name")
    assert not User.objects.exists()


def test_signup_rejects_guest_usernames(client):
    """Usernames in the guest- namespace are reserved."""
    response = client.post(
        reverse("signup"), {"username": "Guest-abc", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.context["form"].has_error("username", code="reserved_username")
    assert not User.objects.exists()


# --- API token ----------------------------------------------------------------------


def test_token_page_requires_login(client):
    """Anonymous visitors are sent to the login page, with next back to the token page."""
    response = client.get(reverse("token"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={reverse('token')}"


def test_token_page_shows_the_key_and_how_to_use_it(client, user):
    """The page shows the key, the Authorization header and the WebSocket ?token= form, and is not cached."""
    client.force_login(user)
    response = client.get(reverse("token"))
    assert response.status_code == 200
    key = Token.objects.get(user=user).key
    html = response.content.decode()
    assert f"Authorization: Token {key}" in html
    assert f"ws://testserver/ws/events/&lt;slug&gt;/?token={key}" in html
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_token_post_rotates_the_key(client, user):
    """POST replaces the key and redirects back to the page, which shows the new key."""
    client.force_login(user)
    old = services.token_get_or_create(user=user).key
    response = client.post(reverse("token"))
    assert response.status_code == 302
    assert response["Location"] == reverse("token")
    new = Token.objects.get(user=user).key
    assert new != old
    page = client.get(reverse("token")).content.decode()
    assert new in page and old not in page
    assert "was replaced" in page


def test_token_works_for_guests(client):
    """A guest can get a token too, and is told it is their way back in."""
    client.post(reverse("guest"), {"display_name": "Viewer"})
    response = client.get(reverse("token"))
    assert response.status_code == 200
    assert b"You joined as a guest" in response.content


def test_token_authenticates_on_the_api(client, user, live_event):
    """Without a token posting is a 401; with the token it is accepted; a rotated-away key is a 401."""
    url = reverse("api-danmaku", args=[live_event.slug])
    body = {"text": "hello", "media_ms": 0}
    assert client.post(url, body, content_type="application/json").status_code == 401

    key = services.token_get_or_create(user=user).key
    response = client.post(url, body, content_type="application/json", headers={"Authorization": f"Token {key}"})
    assert response.status_code == 201
    assert response.json()["text"] == "hello"

    services.token_rotate(user=user)
    response = client.post(url, body, content_type="application/json", headers={"Authorization": f"Token {key}"})
    assert response.status_code == 401
