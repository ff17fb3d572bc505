"""
Account write paths: guest accounts, display names and API tokens.

Views, the API and commands call these; nothing else creates guests or
rotates tokens.
"""
import secrets
import unicodedata

from django.conf import settings
from django.db import IntegrityError, transaction
from rest_framework.authtoken.models import Token

from companion import ratelimit
from companion.errors import ServiceError

from .models import User

DISPLAY_NAME_MAX_LENGTH = 40
GUEST_USERNAME_PREFIX = "guest-"
# Zero-width joiner: part of many emoji, harmless on its own.
ALLOWED_FORMAT_CHARS = {"\u200d"}


def _invalid_name(message: str) -> ServiceError:
    return ServiceError("invalid_display_name", message, field="display_name")


def display_name_clean(*, display_name) -> str:
    """
    Return ``display_name`` stripped, with inner runs of spaces collapsed, or
    raise ``invalid_display_name`` when it is blank, longer than 40 characters
    or holds control characters (newlines, bidi overrides) that would garble
    other viewers' screens.

    >>> display_name_clean(display_name="  Ann   Lee ")
    'Ann Lee'
    """
    if not isinstance(display_name, str):
        raise _invalid_name("The name must be text.")
    name = display_name.strip()
    if any(unicodedata.category(ch) in {"Cc", "Cf"} and ch not in ALLOWED_FORMAT_CHARS for ch in name):
        raise _invalid_name("The name may not contain control characters.")
    name = " ".join(name.split())
    if not name:
        raise _invalid_name("Choose a name to show next to your comments.")
    if len(name) > DISPLAY_NAME_MAX_LENGTH:
        raise _invalid_name(f"Names are at most {DISPLAY_NAME_MAX_LENGTH} characters.")
    return name


def guest_check(*, ip: str | None) -> None:
    """
    Raise ``rate_limited`` when ``ip`` has created too many guests lately.

    Without it a guest could dodge the per-account posting limit by joining
    again every few comments. The limit is per client address, so behind a
    proxy the server must see the real client (Daphne ``--proxy-headers``).
    """
    if not ip:
        return
    retry_after = ratelimit.hit(
        f"guest:{ip}",
        limit=getattr(settings, "GUEST_RATE_COUNT", 20),
        window=getattr(settings, "GUEST_RATE_WINDOW", 600),
    )
    if retry_after is not None:
        raise ServiceError("rate_limited", "Too many guests joined from here; try again later.", retry_after=retry_after)


def guest_create(*, display_name: str, ip: str | None = None) -> User:
    """
    Create a guest account in one step: a unique ``guest-<random>`` username,
    the cleaned display name and no usable password (a guest lives as long as
    its session, or its API token).
    """
    name = display_name_clean(display_name=display_name)
    guest_check(ip=ip)
    for _ in range(5):
        user = User(username=f"{GUEST_USERNAME_PREFIX}{secrets.token_hex(5)}", display_name=name, is_guest=True)
        user.set_unusable_password()
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:  # 40 random bits collided; draw again
            continue
        return user
    raise ServiceError("server_busy", "Could not create a guest account; try again.")


def token_get_or_create(*, user) -> Token:
    """The user's API token, created on first use."""
    token, _ = Token.objects.get_or_create(user=user)
    return token


def token_rotate(*, user) -> Token:
    """Replace the user's API token; the old key stops working at once."""
    with transaction.atomic():
        # Lock the account so two rotations cannot both create a token.
        User.objects.select_for_update().get(pk=user.pk)
        Token.objects.filter(user=user).delete()
        return Token.objects.create(user=user)
