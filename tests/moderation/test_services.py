"""
Moderation services: each rule on its own, through the same post path the
socket and the API use (chat.services.danmaku_post).
"""
from datetime import timedelta

import pytest
from django.utils import timezone

from chat import services as chat
from chat import wire
from chat.models import Comment
from companion.errors import ServiceError
from events.models import Event
from moderation import services
from moderation.models import BlockedTerm, ModerationLog, RoomSettings, Sanction

pytestmark = pytest.mark.django_db


def draft(text="hello", **fields):
    return chat.danmaku_parse({"text": text, "media_ms": 1000, **fields})


def post(event, author, text="hello"):
    return chat.danmaku_post(event=event, author=author, draft=draft(text))


def refused(event, author, text="hello") -> ServiceError:
    with pytest.raises(ServiceError) as excinfo:
        post(event, author, text)
    return excinfo.value


def term(moderator, pattern, action, *, is_regex=False, event=None, **fields):
    return services.term_save(
        term=BlockedTerm(pattern=pattern, action=action, is_regex=is_regex, event=event, **fields), by=moderator
    )


def room(moderator, event, **fields):
    return services.room_settings_save(room_settings=RoomSettings(event=event, **fields), by=moderator)


# --- hiding, restoring, approving, rejecting ------------------------------------------------


def test_hide_takes_a_comment_off_screens_and_out_of_the_replay(
    live_event, viewer, moderator, published, django_capture_on_commit_callbacks
):
    comment = post(live_event, viewer, "spoiler: the butler")
    published.room_messages()
    with django_capture_on_commit_callbacks(execute=True):
        changed = services.comment_hide(comments=[comment], by=moderator, reason="spoiler")
    assert [c.pk for c in changed] == [comment.pk]
    assert Comment.objects.get(pk=comment.pk).status == "hidden"
    assert list(chat.danmaku_window(event=live_event, from_ms=0, to_ms=10**6, limit=10)) == []
    assert published.room_messages() == [{"type": wire.LAYER_RETRACT, "ids": [comment.pk], "event": live_event.pk}]
    assert published.mod_frames() == [
        {"type": "moderation.update", "ids": [comment.pk], "status": "hidden", "by": "Mo", "action": "hide"}
    ]
    entry = ModerationLog.objects.get()
    assert (entry.actor, entry.action, entry.target_type, entry.target_id, entry.reason, entry.event) == (
        moderator, "hide", "comment", comment.pk, "spoiler", live_event
    )
    assert entry.details == {"from": "visible"}


def test_hide_publishes_only_after_commit(live_event, viewer, moderator, django_capture_on_commit_callbacks):
    comment = post(live_event, viewer)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.comment_hide(comments=[comment], by=moderator)
    assert len(callbacks) == 2  # the retraction and the moderators' update wait for the commit


def test_hiding_twice_changes_and_logs_nothing_the_second_time(live_event, viewer, moderator):
    comment = post(live_event, viewer)
    services.comment_hide(comments=[comment], by=moderator)
    assert services.comment_hide(comments=[comment], by=moderator) == []
    assert ModerationLog.objects.count() == 1


def test_hide_accepts_a_queryset_and_skips_comments_of_other_statuses(live_event, viewer, moderator):
    kept = post(live_event, viewer, "one")
    other = post(live_event, viewer, "two")
    Comment.objects.filter(pk=other.pk).update(status="rejected")
    changed = services.comment_hide(comments=Comment.objects.all(), by=moderator)
    assert [c.pk for c in changed] == [kept.pk]
    assert Comment.objects.get(pk=other.pk).status == "rejected"


def test_restore_brings_a_hidden_comment_back_to_the_replay(live_event, viewer, moderator, published, django_capture_on_commit_callbacks):
    comment = post(live_event, viewer)
    services.comment_hide(comments=[comment], by=moderator)
    published.room_messages()
    with django_capture_on_commit_callbacks(execute=True):
        services.comment_restore(comments=[comment], by=moderator, reason="not a spoiler")
    assert [c.pk for c in chat.danmaku_window(event=live_event, from_ms=0, to_ms=10**6, limit=10)] == [comment.pk]
    assert published.room_messages() == []  # not broadcast again
    assert ModerationLog.objects.filter(action="restore", reason="not a spoiler").count() == 1


@pytest.mark.parametrize("who", ["viewer", "producer"])
def test_only_moderators_may_moderate(live_event, viewer, producer, who):
    comment = post(live_event, viewer)
    actor = {"viewer": viewer, "producer": producer}[who]
    for service in (services.comment_hide, services.comment_restore, services.comment_approve, services.comment_reject):
        with pytest.raises(ServiceError) as excinfo:
            service(comments=[comment], by=actor)
        assert excinfo.value.code == "forbidden"
    with pytest.raises(ServiceError):
        services.author_ban(user=viewer, by=producer)
    assert Comment.objects.get(pk=comment.pk).status == "visible"
    assert not ModerationLog.objects.exists()


def test_superusers_moderate_without_the_group(live_event, viewer, make_user):
    boss = make_user("boss", is_superuser=True, is_staff=True)
    comment = post(live_event, viewer)
    assert services.comment_hide(comments=[comment], by=boss)


# --- blocked terms ---------------------------------------------------------------------------------


def test_reject_term_refuses_the_comment_and_stores_it_as_rejected(live_event, viewer, moderator, published, django_capture_on_commit_callbacks):
    term(moderator, "casino", "reject")
    with django_capture_on_commit_callbacks(execute=True):
        error = refused(live_event, viewer, "best CASINO bonus")
    assert error.code == "comment_rejected"
    stored = Comment.objects.get(pk=error.details["id"])
    assert (stored.status, stored.text) == ("rejected", "best CASINO bonus")
    assert published.room_messages() == []  # never on air
    [frame] = published.mod_frames()
    assert frame["comment"]["status"] == "rejected" and frame["comment"]["term"]["pattern"] == "casino"
    entry = ModerationLog.objects.get(action="auto_reject")
    assert entry.actor is None and entry.target_id == stored.pk and "casino" in entry.reason


def test_hold_term_stores_the_comment_held_and_tells_only_its_author(
    live_event, viewer, moderator, published, django_capture_on_commit_callbacks
):
    term(moderator, "referee", "hold")
    with django_capture_on_commit_callbacks(execute=True):
        comment = post(live_event, viewer, "the referee is blind")
    assert comment.status == "held"
    [notice] = published.room_messages()
    assert notice["type"] == wire.LAYER_USER_FRAME and notice["user"] == viewer.pk
    assert (notice["frame"]["type"], notice["frame"]["code"], notice["frame"]["comment"]) == ("notice", "comment_held", comment.pk)
    [frame] = published.mod_frames()
    assert frame["type"] == "moderation.comment" and frame["comment"]["status"] == "held"
    assert ModerationLog.objects.filter(action="hold", target_id=comment.pk).exists()


def test_the_ack_of_a_held_comment_says_held_and_carries_no_item(live_event, viewer, moderator):
    term(moderator, "referee", "hold")
    comment = post(live_event, viewer, "the referee!")
    frame = wire.ack_frame(ref="c1", id=comment.pk, item=wire.comment_payload(comment))
    assert frame == {"type": "ack", "ref": "c1", "id": comment.pk, "status": "held"}
    visible = post(live_event, viewer, "goal")
    frame = wire.ack_frame(ref="c2", id=visible.pk, item=wire.comment_payload(visible))
    assert frame["status"] == "visible" and set(frame["item"]) == {
        "id", "text", "color", "mode", "size", "media_ms", "author", "created_at"
    }


def test_mask_term_stores_and_broadcasts_the_masked_text(live_event, viewer, moderator, published, django_capture_on_commit_callbacks):
    term(moderator, "darn", "mask")
    with django_capture_on_commit_callbacks(execute=True):
        comment = post(live_event, viewer, "Darn it, darn")
    assert (comment.status, comment.text) == ("visible", "**** it, ****")
    [message] = published.room_messages()
    assert message["item"]["text"] == "**** it, ****"
    [frame] = published.mod_frames()
    assert frame["comment"]["term"]["action"] == "mask"


def test_reject_beats_hold_beats_mask(live_event, viewer, moderator):
    term(moderator, "darn", "mask")
    term(moderator, "ref", "hold")
    held = post(live_event, viewer, "darn ref")
    assert (held.status, held.text) == ("held", "**** ref")
    term(moderator, "scam", "reject")
    assert refused(live_event, viewer, "darn ref scam").code == "comment_rejected"


def test_regex_terms_match_case_insensitively(live_event, viewer, moderator):
    term(moderator, r"\bbuy\s+now\b", "reject", is_regex=True)
    assert refused(live_event, viewer, "BUY   now!!").code == "comment_rejected"
    assert post(live_event, viewer, "buynow is one word").status == "visible"


def test_full_width_look_alikes_are_caught(live_event, viewer, moderator):
    """ｃａｓｉｎｏ normalises (NFKC) to casino; masking rewrites it in the normal form."""
    term(moderator, "casino", "mask")
    assert post(live_event, viewer, "ｃａｓｉｎｏ night").text == "****** night"
    term(moderator, "poker", "reject")
    assert refused(live_event, viewer, "ｐｏｋｅｒ").code == "comment_rejected"


def test_event_terms_apply_to_their_event_only_and_global_ones_everywhere(live_event, viewer, moderator):
    other = Event.objects.create(title="Gala", slug="gala", status=Event.Status.LIVE, started_at=timezone.now())
    term(moderator, "butler", "reject", event=other)
    term(moderator, "spam", "reject")
    assert post(live_event, viewer, "the butler").status == "visible"
    assert refused(other, viewer, "the butler").code == "comment_rejected"
    assert refused(live_event, viewer, "spam").code == "comment_rejected"


def test_inactive_terms_do_not_apply_and_changes_apply_at_once(live_event, viewer, moderator):
    saved = term(moderator, "meh", "reject")
    assert refused(live_event, viewer, "meh").code == "comment_rejected"
    saved.is_active = False
    services.term_save(term=saved, by=moderator)
    assert post(live_event, viewer, "meh").status == "visible"
    services.term_delete(term=saved, by=moderator, reason="cleanup")
    assert list(ModerationLog.objects.filter(action__in=["term_save", "term_delete"]).values_list("action", flat=True)) == [
        "term_delete", "term_save", "term_save"
    ]


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(.*)*x", r"(\w+\s?)+!", r"(a|ab)+c", r"(x)\1", "[", r".*.*.*.*x", "a*"])
def test_unsafe_or_invalid_patterns_are_refused_on_save(moderator, pattern):
    with pytest.raises(ServiceError) as excinfo:
        term(moderator, pattern, "reject", is_regex=True)
    assert excinfo.value.code == "invalid_term"
    assert not BlockedTerm.objects.exists()
    assert not ModerationLog.objects.exists()


def test_a_literal_term_is_never_a_regex(live_event, viewer, moderator):
    term(moderator, "(a+)+", "reject")
    assert refused(live_event, viewer, "look: (a+)+").code == "comment_rejected"
    assert post(live_event, viewer, "aaaa").status == "visible"


# --- the held queue -----------------------------------------------------------------------------------


def test_approving_a_held_comment_broadcasts_it_and_tells_its_author(
    live_event, viewer, moderator, published, django_capture_on_commit_callbacks
):
    term(moderator, "referee", "hold")
    held = post(live_event, viewer, "referee!")
    published.room_messages(), published.mod_frames()
    with django_capture_on_commit_callbacks(execute=True):
        services.comment_approve(comments=[held], by=moderator, reason="fair")
    messages = published.room_messages()
    assert {m["type"] for m in messages} == {wire.LAYER_DANMAKU, wire.LAYER_USER_FRAME}
    danmaku = next(m for m in messages if m["type"] == wire.LAYER_DANMAKU)
    assert danmaku["item"] == wire.comment_payload(Comment.objects.get(pk=held.pk))
    notice = next(m for m in messages if m["type"] == wire.LAYER_USER_FRAME)
    assert (notice["user"], notice["frame"]["code"]) == (viewer.pk, "comment_approved")


def test_rejecting_a_held_comment_tells_its_author_and_never_airs_it(
    live_event, viewer, moderator, published, django_capture_on_commit_callbacks
):
    term(moderator, "referee", "hold")
    held = post(live_event, viewer, "referee!")
    published.room_messages()
    with django_capture_on_commit_callbacks(execute=True):
        services.comment_reject(comments=[held], by=moderator)
    [notice] = published.room_messages()
    assert (notice["type"], notice["frame"]["code"]) == (wire.LAYER_USER_FRAME, "comment_rejected")
    assert Comment.objects.get(pk=held.pk).status == "rejected"


def test_rejecting_a_visible_comment_retracts_it(live_event, viewer, moderator, published, django_capture_on_commit_callbacks):
    comment = post(live_event, viewer)
    published.room_messages()
    with django_capture_on_commit_callbacks(execute=True):
        services.comment_reject(comments=[comment], by=moderator)
    assert published.room_messages() == [{"type": wire.LAYER_RETRACT, "ids": [comment.pk], "event": live_event.pk}]


# --- time-outs and bans ---------------------------------------------------------------------------------


def test_a_timed_out_author_is_told_until_when_and_everything_is_refused(live_event, viewer, moderator):
    sanction = services.author_timeout(user=viewer, duration=timedelta(minutes=10), by=moderator, reason="spam")
    error = refused(live_event, viewer)
    assert error.code == "timed_out"
    assert error.details["until"] == wire.iso(sanction.ends_at)
    assert 590 < error.details["retry_after"] <= 600
    other = Event.objects.create(title="Gala", slug="gala", status=Event.Status.LIVE, started_at=timezone.now())
    assert refused(other, viewer).code == "timed_out"  # everywhere
    assert not Comment.objects.exists()
    entry = ModerationLog.objects.get(action="timeout")
    assert (entry.target_type, entry.target_id, entry.reason) == ("user", viewer.pk, "spam")


def test_a_time_out_ends_by_itself(live_event, viewer, moderator):
    sanction = services.author_timeout(user=viewer, duration=timedelta(minutes=1), by=moderator)
    Sanction.objects.filter(pk=sanction.pk).update(ends_at=timezone.now() - timedelta(seconds=1))
    assert post(live_event, viewer).status == "visible"


@pytest.mark.parametrize("duration", [timedelta(seconds=59), timedelta(days=400), 10])
def test_time_outs_last_from_a_minute_to_days(viewer, moderator, duration):
    with pytest.raises(ServiceError) as excinfo:
        services.author_timeout(user=viewer, duration=duration, by=moderator)
    assert excinfo.value.code == "invalid_duration"


def test_longest_time_out_is_allowed(viewer, moderator):
    services.author_timeout(user=viewer, duration=timedelta(days=30), by=moderator)


def test_a_banned_author_is_refused_until_unbanned(live_event, viewer, moderator, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.author_ban(user=viewer, by=moderator, reason="abuse", event=live_event)
    [notice] = published.room_messages()
    assert (notice["user"], notice["frame"]["code"], notice["frame"]["until"]) == (viewer.pk, "banned", None)
    [frame] = published.mod_frames()
    assert frame["type"] == "moderation.sanction" and frame["kind"] == "ban" and frame["user"]["id"] == viewer.pk
    error = refused(live_event, viewer)
    assert (error.code, error.details["until"]) == ("banned", None)
    assert services.author_unban(user=viewer, by=moderator, reason="appeal") == 1
    assert post(live_event, viewer).status == "visible"
    assert list(ModerationLog.objects.order_by("at", "id").values_list("action", flat=True)) == ["ban", "unban"]


def test_a_ban_wins_over_a_time_out(live_event, viewer, moderator):
    services.author_timeout(user=viewer, duration=timedelta(minutes=5), by=moderator)
    services.author_ban(user=viewer, by=moderator)
    assert refused(live_event, viewer).code == "banned"


def test_moderators_and_oneself_cannot_be_sanctioned(moderator, make_user):
    from django.contrib.auth.models import Group

    colleague = make_user("colleague", is_staff=True)
    colleague.groups.add(Group.objects.get(name="moderators"))
    for target in (moderator, colleague):
        with pytest.raises(ServiceError) as excinfo:
            services.author_ban(user=target, by=moderator)
        assert excinfo.value.code == "cannot_sanction"


# --- room settings ------------------------------------------------------------------------------------------


def test_slow_mode_allows_one_comment_per_period(live_event, viewer, make_user, moderator):
    room(moderator, live_event, slow_mode_seconds=30)
    post(live_event, viewer)
    error = refused(live_event, viewer)
    assert error.code == "slow_mode"
    assert 0 < error.details["retry_after"] <= 30 and error.details["seconds"] == 30
    post(live_event, make_user())  # per viewer
    post(live_event, moderator)
    post(live_event, moderator)  # moderators are exempt


def test_slow_mode_applies_to_its_event_only(live_event, viewer, moderator):
    other = Event.objects.create(title="Gala", slug="gala", status=Event.Status.LIVE, started_at=timezone.now())
    room(moderator, other, slow_mode_seconds=60)
    post(live_event, viewer)
    post(live_event, viewer)


def test_moderators_only_rooms(live_event, viewer, moderator):
    room(moderator, live_event, who_may_post="moderators")
    error = refused(live_event, viewer)
    assert (error.code, error.details["who_may_post"]) == ("posting_restricted", "moderators")
    post(live_event, moderator)


def test_rooms_for_established_accounts(live_event, viewer, make_user, moderator):
    room(moderator, live_event, who_may_post="established", min_account_age_minutes=60)
    error = refused(live_event, viewer)
    assert error.code == "posting_restricted" and error.details["until"] and error.details["retry_after"] > 3500
    veteran = make_user("veteran")
    type(veteran).objects.filter(pk=veteran.pk).update(date_joined=timezone.now() - timedelta(hours=2))
    veteran.refresh_from_db()
    post(live_event, veteran)


def test_room_rate_overrides_the_site_default(live_event, viewer, moderator):
    room(moderator, live_event, rate_count=2, rate_window=60)
    post(live_event, viewer)
    post(live_event, viewer)
    error = refused(live_event, viewer)
    assert error.code == "rate_limited" and 0 < error.details["retry_after"] <= 60


def test_room_settings_changes_are_logged_and_slow_mode_is_announced(
    live_event, moderator, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        saved = room(moderator, live_event, slow_mode_seconds=10)
    [message] = published.room_messages()
    assert message["type"] == wire.LAYER_FRAME and message["key"] == "notice:slow_mode"
    assert (message["frame"]["code"], message["frame"]["seconds"]) == ("slow_mode", 10)
    saved.slow_mode_seconds = 0
    with django_capture_on_commit_callbacks(execute=True):
        services.room_settings_save(room_settings=saved, by=moderator, reason="calmer now")
    [message] = published.room_messages()
    assert message["frame"]["message"] == "Slow mode is off."
    entry = ModerationLog.objects.filter(action="settings_save").first()
    assert entry.details == {"slow_mode_seconds": {"from": 10, "to": 0}} and entry.reason == "calmer now"


def test_invalid_room_settings_are_refused(live_event, moderator):
    with pytest.raises(ServiceError) as excinfo:
        room(moderator, live_event, rate_count=0)
    assert excinfo.value.code == "invalid_settings"
