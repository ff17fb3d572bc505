"""Accounts in each role, for the permission matrix and producers' tests."""
import pytest
from django.contrib.auth.models import Group
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture
def producer(make_user):
    user = make_user("paula", display_name="Paula", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="producers")[0])
    return user


@pytest.fixture
def moderator(make_user):
    user = make_user("moritz", display_name="Moritz", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="moderators")[0])
    return user


@pytest.fixture
def superuser(make_user):
    return make_user("root", is_superuser=True, is_staff=True)


@pytest.fixture
def role_user(request, viewer, moderator, producer, superuser):
    """The account of a role named by the test's ``role`` parameter (None: anonymous)."""
    return {"anonymous": None, "viewer": viewer, "moderator": moderator, "producer": producer, "superuser": superuser}[
        request.param
    ]


def api_as(user) -> APIClient:
    """An API client with ``user``'s token (anonymous when None), as scripts and feeds call the API."""
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


# Who may do producers' things, and what everyone else gets.
ROLES = ["anonymous", "viewer", "moderator", "producer", "superuser"]
EXPECTED = {"anonymous": (401, "auth_required"), "viewer": (403, "forbidden"), "moderator": (403, "forbidden")}
