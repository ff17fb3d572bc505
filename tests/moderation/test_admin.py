"""
Moderation in Django admin, through the test client: who gets in, the
comments list, bulk actions (each through a confirmation page with a reason,
then the services), sanctions, blocked terms, room settings, the log.
"""
from datetime import timedelta

import pytest
from django.contrib.admin import helpers
from django.utils import timezone

from chat import wire
from chat.models import Comment
from events.models import Event
from moderation.models import BlockedTerm, ModerationLog, RoomSettings, Sanction

pytestmark = pytest.mark.django_db

COMMENTS = "/admin/chat/comment/"


@pytest.fixture
def mod_client(client, moderator):
    client.force_login(moderator)
    return client


def comment(event, author, text="hello", **fields):
    return Comment.objects.create(event=event, author=author, text=text, media_ms=1000, **fields)


def run_action(client, action, comments, *, url=COMMENTS, **fields):
    """Pick an action on the changelist, then confirm it on its page."""
    selected = [str(c.pk) for c in comments]
    page = client.post(url, {"action": action, helpers.ACTION_CHECKBOX_NAME: selected})
    assert page.status_code == 200, page.status_code
    assert b'name="post"' in page.content  # the confirmation page
    return client.post(url, {"action": action, helpers.ACTION_CHECKBOX_NAME: selected, "post": "yes", **fields})


# --- who gets in ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        COMMENTS,
        "/admin/moderation/sanction/",
        "/admin/moderation/blockedterm/",
        "/admin/moderation/roomsettings/",
        "/admin/moderation/moderationlog/",
        "/admin/moderation/liveroom/",
        "/admin/moderation/liveroom/final/",
    ],
)
def test_moderators_reach_every_tool_and_producers_none(client, live_event, moderator, producer, url):
    client.force_login(moderator)
    assert client.get(url).status_code == 200
    client.force_login(producer)
    assert client.get(url).status_code == 403


def test_viewers_are_sent_to_the_admin_login(client, live_event, viewer):
    client.force_login(viewer)
    response = client.get("/admin/moderation/liveroom/final/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_the_admin_index_shows_moderation_to_moderators_only(client, moderator, producer):
    client.force_login(moderator)
    page = client.get("/admin/").content.decode()
    assert "Blocked terms" in page and "Comments" in page and "Live rooms" in page
    client.force_login(producer)
    page = client.get("/admin/").content.decode()
    assert "Blocked terms" not in page and "Comments" not in page


def test_superusers_reach_the_tools(client, live_event, make_user):
    client.force_login(make_user("root", is_staff=True, is_superuser=True))
    assert client.get(COMMENTS).status_code == 200
    assert client.get("/admin/moderation/liveroom/final/").status_code == 200


# --- the comments list -------------------------------------------------------------------------------------


def test_comments_are_listed_newest_first_with_filters_and_search(mod_client, live_event, viewer, make_user):
    ben = make_user("ben")
    old = comment(live_event, viewer, "first goal")
    held = comment(live_event, ben, "the referee", status="held")
    new = comment(live_event, ben, "second goal")
    Comment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=1))

    def listed(**params):
        response = mod_client.get(COMMENTS, params)
        assert response.status_code == 200
        return [c.pk for c in response.context["cl"].result_list]

    assert listed() == [new.pk, held.pk, old.pk]
    assert listed(status__exact="held") == [held.pk]
    assert listed(event__id__exact=live_event.pk) == [new.pk, held.pk, old.pk]
    assert listed(author=ben.pk) == [new.pk, held.pk]
    assert listed(q="goal") == [new.pk, old.pk]
    assert listed(q="ben") == [new.pk, held.pk]
    today = timezone.now()
    assert listed(created_at__year=today.year, created_at__month=today.month, created_at__day=today.day) == [new.pk, held.pk]


def test_a_comment_page_is_read_only_and_comments_cannot_be_added_or_deleted(mod_client, live_event, viewer):
    c = comment(live_event, viewer)
    page = mod_client.get(f"{COMMENTS}{c.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert mod_client.post(f"{COMMENTS}{c.pk}/change/", {"text": "edited"}).status_code == 403
    assert mod_client.get(f"{COMMENTS}add/").status_code == 403
    assert mod_client.get(f"{COMMENTS}{c.pk}/delete/").status_code == 403
    assert Comment.objects.get(pk=c.pk).text == "hello"


# --- bulk actions ----------------------------------------------------------------------------------------------


def test_hide_action_asks_for_a_reason_then_hides_logs_and_retracts(
    mod_client, live_event, viewer, published, django_capture_on_commit_callbacks
):
    first, second = comment(live_event, viewer, "a"), comment(live_event, viewer, "b")
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(mod_client, "hide", [first, second], reason="spoilers")
    assert response.status_code == 302
    assert set(Comment.objects.values_list("status", flat=True)) == {"hidden"}
    assert list(ModerationLog.objects.values_list("action", "reason")) == [("hide", "spoilers")] * 2
    [retract] = published.room_messages()
    assert retract["type"] == wire.LAYER_RETRACT and sorted(retract["ids"]) == [first.pk, second.pk]
    page = mod_client.get(response["Location"]).content.decode()
    assert "Hid 2 comments." in page


def test_restore_approve_and_reject_actions(mod_client, live_event, viewer, published, django_capture_on_commit_callbacks):
    hidden = comment(live_event, viewer, "h", status="hidden")
    held = comment(live_event, viewer, "x", status="held")
    other = comment(live_event, viewer, "y", status="held")
    run_action(mod_client, "restore", [hidden])
    with django_capture_on_commit_callbacks(execute=True):
        run_action(mod_client, "approve", [held], reason="fine")
    run_action(mod_client, "reject", [other], reason="rude")
    statuses = dict(Comment.objects.values_list("pk", "status"))
    assert statuses == {hidden.pk: "visible", held.pk: "visible", other.pk: "rejected"}
    assert any(m["type"] == wire.LAYER_DANMAKU and m["item"]["id"] == held.pk for m in published.room_messages())
    assert list(ModerationLog.objects.order_by("id").values_list("action", flat=True)) == ["restore", "approve", "reject"]


def test_select_across_pages_applies_to_the_whole_filtered_list(mod_client, live_event, viewer):
    held = [comment(live_event, viewer, f"h{n}", status="held") for n in range(3)]
    visible = comment(live_event, viewer, "v")
    url = COMMENTS + "?status__exact=held"
    data = {"action": "approve", helpers.ACTION_CHECKBOX_NAME: [str(held[0].pk)], "select_across": "1"}
    assert mod_client.post(url, data).status_code == 200
    mod_client.post(url, {**data, "post": "yes"})
    assert Comment.objects.filter(status="visible").count() == 4
    assert ModerationLog.objects.count() == 3 and not ModerationLog.objects.filter(target_id=visible.pk).exists()


def test_timeout_action_times_out_each_author_once(mod_client, live_event, viewer, make_user):
    ben = make_user("ben")
    picked = [comment(live_event, viewer), comment(live_event, viewer), comment(live_event, ben)]
    run_action(mod_client, "timeout_authors", picked, minutes="60", reason="flood")
    sanctions = Sanction.objects.order_by("user_id")
    assert [(s.user, s.kind, s.reason) for s in sanctions] == [(viewer, "timeout", "flood"), (ben, "timeout", "flood")]
    assert all(timedelta(minutes=59) < s.ends_at - timezone.now() <= timedelta(minutes=60) for s in sanctions)
    assert ModerationLog.objects.filter(action="timeout", event=live_event).count() == 2


def test_ban_action_skips_moderators_and_says_so(mod_client, live_event, viewer, moderator):
    response = run_action(mod_client, "ban_authors", [comment(live_event, viewer), comment(live_event, moderator)])
    assert Sanction.objects.get().user == viewer
    page = mod_client.get(response["Location"]).content.decode()
    assert "Not sanctioned: mod" in page


# --- sanctions, terms, settings, log -------------------------------------------------------------------------


def test_adding_a_sanction_goes_through_the_service(mod_client, viewer):
    response = mod_client.post(
        "/admin/moderation/sanction/add/", {"username": "ana", "kind": "timeout", "minutes": "5", "reason": "caps"}
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    sanction = Sanction.objects.get()
    assert (sanction.user, sanction.kind, sanction.reason) == (viewer, "timeout", "caps")
    assert ModerationLog.objects.get().action == "timeout"
    # Existing sanctions are read-only; "Lift" ends them, through the service too.
    run_action(mod_client, "lift", [sanction], url="/admin/moderation/sanction/", reason="sorry")
    sanction.refresh_from_db()
    assert sanction.lifted_at is not None
    assert ModerationLog.objects.filter(action="unban", reason="sorry").exists()


def test_the_sanction_form_says_why_it_refuses(mod_client, moderator):
    response = mod_client.post("/admin/moderation/sanction/add/", {"username": "mod", "kind": "ban", "reason": ""})
    assert response.status_code == 200
    assert "cannot sanction your own account" in str(response.context["adminform"].form.errors)
    response = mod_client.post("/admin/moderation/sanction/add/", {"username": "nobody", "kind": "ban"})
    assert "No account with that username" in str(response.context["adminform"].form.errors)
    assert not Sanction.objects.exists()


def test_a_catastrophic_regex_is_refused_by_the_term_form(mod_client):
    response = mod_client.post(
        "/admin/moderation/blockedterm/add/",
        {"pattern": "(a+)+$", "is_regex": "on", "action": "reject", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "Nested quantifier" in str(response.context["adminform"].form.errors)
    assert not BlockedTerm.objects.exists()


def test_terms_are_saved_and_deleted_through_the_services(mod_client, live_event, moderator):
    response = mod_client.post(
        "/admin/moderation/blockedterm/add/",
        {"event": live_event.pk, "pattern": r"\bref\b", "is_regex": "on", "action": "hold", "is_active": "on", "log_reason": "heated"},
    )
    assert response.status_code == 302
    term = BlockedTerm.objects.get()
    assert (term.event, term.created_by) == (live_event, moderator)
    entry = ModerationLog.objects.get()
    assert (entry.action, entry.reason, entry.event) == ("term_save", "heated", live_event)
    mod_client.post(f"/admin/moderation/blockedterm/{term.pk}/delete/", {"post": "yes"})
    assert not BlockedTerm.objects.exists()
    assert ModerationLog.objects.filter(action="term_delete").exists()


def test_room_settings_are_saved_through_the_service(mod_client, live_event, moderator):
    response = mod_client.post(
        "/admin/moderation/roomsettings/add/",
        {"event": live_event.pk, "slow_mode_seconds": "15", "who_may_post": "everyone", "min_account_age_minutes": "0", "log_reason": "hot"},
    )
    assert response.status_code == 302
    assert RoomSettings.objects.get().updated_by == moderator
    entry = ModerationLog.objects.get()
    assert entry.action == "settings_save" and entry.details["slow_mode_seconds"] == {"from": 0, "to": 15}


def test_the_log_is_read_only(mod_client, live_event, viewer, moderator):
    from moderation import services

    services.comment_hide(comments=[comment(live_event, viewer)], by=moderator, reason="r")
    entry = ModerationLog.objects.get()
    page = mod_client.get("/admin/moderation/moderationlog/").content.decode()
    assert "mod" in page and "hide" in page
    assert mod_client.get(f"/admin/moderation/moderationlog/{entry.pk}/change/").status_code == 200
    assert mod_client.post(f"/admin/moderation/moderationlog/{entry.pk}/change/", {"reason": "x"}).status_code == 403
    assert mod_client.get("/admin/moderation/moderationlog/add/").status_code == 403
    assert mod_client.post(f"/admin/moderation/moderationlog/{entry.pk}/delete/", {"post": "yes"}).status_code == 403


# --- live rooms -----------------------------------------------------------------------------------------------------


def test_live_rooms_list_live_events_first_with_their_held_count(mod_client, live_event, viewer):
    Event.objects.create(title="Later", slug="later")
    comment(live_event, viewer, status="held")
    response = mod_client.get("/admin/moderation/liveroom/")
    rows = list(response.context["cl"].result_list)
    assert [e.slug for e in rows] == ["final", "later"] and rows[0].held_count == 1
    assert b"/admin/moderation/liveroom/final/" in response.content


def test_the_live_page_hands_its_script_the_socket_path(mod_client, live_event):
    response = mod_client.get("/admin/moderation/liveroom/final/")
    assert response.context["config"]["ws_path"] == "/ws/moderate/final/"
    assert b'id="moderation-config"' in response.content and b"js/moderation.js" in response.content
    assert mod_client.get("/admin/moderation/liveroom/nothing/").status_code == 404
