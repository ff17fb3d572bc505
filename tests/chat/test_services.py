from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from chat import services, wire
from chat.models import Comment
from companion.errors import ServiceError
from events.models import Event


def draft(**fields):
    return services.danmaku_parse({"text": "hello", "media_ms": 1000, **fields})


# --- parsing ------------------------------------------------------------------


def test_parse_applies_defaults():
    """A message with only text and media time gets white, scrolling, normal size."""
    d = services.danmaku_parse({"text": "hi", "media_ms": 5})
    assert (d.text, d.color, d.mode, d.size, d.media_ms) == ("hi", "#ffffff", "scroll", "normal", 5)


def test_parse_normalises_whitespace_and_strips_control_characters():
    assert draft(text="  a\u202e\x00  b\n c ").text == "a b c"


def test_parse_lowercases_colour():
    assert draft(color="#FFAA00").color == "#ffaa00"


@pytest.mark.parametrize(
    "fields, code, field",
    [
        ({"text": ""}, "text_empty", "text"),
        ({"text": "   \n "}, "text_empty", "text"),
        ({"text": "\u200b\u202e"}, "text_empty", "text"),
        ({"text": "x" * 101}, "text_too_long", "text"),
        ({"text": 42}, "invalid_message", "text"),
        ({"text": None}, "invalid_message", "text"),
        ({"color": "red"}, "invalid_color", "color"),
        ({"color": "#12345g"}, "invalid_color", "color"),
        ({"color": 0xFFFFFF}, "invalid_color", "color"),
        ({"mode": "diagonal"}, "invalid_mode", "mode"),
        ({"size": "huge"}, "invalid_size", "size"),
        ({"media_ms": -1}, "invalid_media_time", "media_ms"),
        ({"media_ms": "100"}, "invalid_media_time", "media_ms"),
        ({"media_ms": True}, "invalid_media_time", "media_ms"),
        ({"media_ms": None}, "invalid_media_time", "media_ms"),
        ({"media_ms": float("nan")}, "invalid_media_time", "media_ms"),
        ({"media_ms": 10**13}, "invalid_media_time", "media_ms"),
    ],
)
def test_parse_rejects_bad_fields_with_a_code_and_the_field(fields, code, field):
    with pytest.raises(ServiceError) as excinfo:
        draft(**fields)
    assert excinfo.value.code == code
    assert excinfo.value.details["field"] == field


def test_parse_accepts_exactly_max_length(settings):
    settings.DANMAKU_MAX_LENGTH = 5
    assert draft(text="abcde").text == "abcde"
    with pytest.raises(ServiceError):
        draft(text="abcdef")


# --- posting ------------------------------------------------------------------


def test_post_stores_the_comment(live_event, viewer):
    comment = services.danmaku_post(event=live_event, author=viewer, draft=draft(text="Go!", mode="top"))
    stored = Comment.objects.get(pk=comment.pk)
    assert (stored.text, stored.mode, stored.author, stored.status) == ("Go!", "top", viewer, "visible")


def test_post_requires_an_account(live_event):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(ServiceError) as excinfo:
        services.danmaku_post(event=live_event, author=AnonymousUser(), draft=draft())
    assert excinfo.value.code == "auth_required"
    assert not Comment.objects.exists()


def test_post_refuses_inactive_accounts(live_event, make_user):
    with pytest.raises(ServiceError) as excinfo:
        services.danmaku_post(event=live_event, author=make_user(is_active=False), draft=draft())
    assert excinfo.value.code == "forbidden"


def test_post_refuses_before_the_event_starts(db, viewer):
    event = Event.objects.create(title="Later", slug="later")
    with pytest.raises(ServiceError) as excinfo:
        services.danmaku_post(event=event, author=viewer, draft=draft())
    assert excinfo.value.code == "event_not_live"


def test_post_refuses_a_moment_past_the_live_edge(live_event, viewer, settings):
    settings.DANMAKU_MEDIA_SKEW_MS = 1000
    edge = live_event.live_edge_ms()
    services.danmaku_post(event=live_event, author=viewer, draft=draft(media_ms=edge))
    with pytest.raises(ServiceError) as excinfo:
        services.danmaku_post(event=live_event, author=viewer, draft=draft(media_ms=edge + 60_000))
    assert excinfo.value.code == "invalid_media_time"


def test_post_is_allowed_in_replay_after_the_event_ended(live_event, viewer):
    live_event.status, live_event.ended_at = Event.Status.ENDED, timezone.now()
    live_event.save()
    comment = services.danmaku_post(event=live_event, author=viewer, draft=draft(media_ms=2000))
    assert comment.media_ms == 2000


def test_post_is_rate_limited_per_account(live_event, viewer, make_user, settings):
    settings.DANMAKU_RATE_COUNT, settings.DANMAKU_RATE_WINDOW = 3, 60
    for _ in range(3):
        services.danmaku_post(event=live_event, author=viewer, draft=draft())
    with pytest.raises(ServiceError) as excinfo:
        services.danmaku_post(event=live_event, author=viewer, draft=draft())
    assert excinfo.value.code == "rate_limited"
    assert 0 < excinfo.value.details["retry_after"] <= 60
    assert Comment.objects.count() == 3
    # Another account is not affected.
    services.danmaku_post(event=live_event, author=make_user(), draft=draft())


def test_post_publishes_to_the_room_after_commit(live_event, viewer, django_capture_on_commit_callbacks):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(wire.room_group(live_event.pk), channel)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        comment = services.danmaku_post(event=live_event, author=viewer, draft=draft(text="on air"))
    assert len(callbacks) == 1  # nothing is published before the commit
    callbacks[0]()
    message = async_to_sync(layer.receive)(channel)
    assert message["type"] == wire.LAYER_DANMAKU
    assert message["event"] == live_event.pk
    assert message["item"] == wire.comment_payload(comment)


# --- reading ------------------------------------------------------------------


def make_comments(event, author, media_times, **fields):
    return [Comment.objects.create(event=event, author=author, text=f"c{m}", media_ms=m, **fields) for m in media_times]


def test_window_returns_visible_comments_in_media_order(live_event, viewer):
    make_comments(live_event, viewer, [5000, 1000, 3000, 9000])
    make_comments(live_event, viewer, [2000], status=Comment.Status.HIDDEN)
    got = services.danmaku_window(event=live_event, from_ms=1000, to_ms=9000, limit=100)
    assert [c.media_ms for c in got] == [1000, 3000, 5000]


def test_window_honours_the_limit(live_event, viewer):
    make_comments(live_event, viewer, range(0, 10_000, 1000))
    assert len(services.danmaku_window(event=live_event, from_ms=0, to_ms=10**6, limit=4)) == 4


def test_density_counts_visible_comments_per_bucket(live_event, viewer):
    make_comments(live_event, viewer, [0, 999, 1000, 2500, 2600, 2700])
    make_comments(live_event, viewer, [2800], status=Comment.Status.HIDDEN)
    assert services.danmaku_density(event=live_event, bucket_ms=1000) == [
        {"start_ms": 0, "count": 2},
        {"start_ms": 1000, "count": 1},
        {"start_ms": 2000, "count": 3},
    ]


def test_catchup_returns_recent_visible_comments_after_an_id(live_event, viewer):
    first, second, third = make_comments(live_event, viewer, [1, 2, 3])
    make_comments(live_event, viewer, [4], status=Comment.Status.HIDDEN)
    items = services.danmaku_catchup(event=live_event, after_id=first.pk)
    assert [i["id"] for i in items] == [second.pk, third.pk]


def test_catchup_ignores_comments_older_than_the_window(live_event, viewer, settings):
    settings.CATCHUP_SECONDS = 30
    old, new = make_comments(live_event, viewer, [1, 2])
    Comment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    items = services.danmaku_catchup(event=live_event, after_id=0)
    assert [i["id"] for i in items] == [new.pk]
