"""
The live moderation socket (/ws/moderate/<slug>/) next to viewers' room
sockets, through the whole ASGI stack on the in-memory layer: who may open
it, what streams in, and actions that reach viewers' screens.
"""
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import Group

from chat.models import Comment
from moderation import services
from moderation.models import BlockedTerm, Sanction
from tests.chat.test_consumers import connect, next_frame, token_for

pytestmark = pytest.mark.django_db(transaction=True)

MOD_PATH = "/ws/moderate/final/"


async def open_moderation(user):
    comm = await connect(MOD_PATH, token=await token_for(user), headers=())
    hello = await comm.receive_json_from(timeout=5)
    assert hello["type"] == "moderation.hello", hello
    return comm, hello


async def open_room(user=None):
    comm = await connect(token=await token_for(user), headers=()) if user else await connect()
    assert (await comm.receive_json_from())["type"] == "hello"
    return comm


async def post(comm, text, ref="c1"):
    await comm.send_json_to({"type": "danmaku.post", "ref": ref, "text": text, "media_ms": 1000})


@database_sync_to_async
def add_term(moderator, pattern, action):
    return services.term_save(term=BlockedTerm(pattern=pattern, action=action), by=moderator)


@pytest.mark.parametrize("who", ["viewer", "producer", "anonymous"])
async def test_non_moderators_are_refused(live_event, viewer, producer, who):
    if who == "anonymous":
        comm = await connect(MOD_PATH)
    else:
        comm = await connect(MOD_PATH, token=await token_for({"viewer": viewer, "producer": producer}[who]), headers=())
    error = await comm.receive_json_from()
    assert (error["type"], error["code"]) == ("error", "forbidden")
    assert (await comm.receive_output())["code"] == 4403


async def test_unknown_event_is_not_found(live_event, moderator):
    comm = await connect("/ws/moderate/nothing/", token=await token_for(moderator), headers=())
    assert (await comm.receive_json_from())["code"] == "not_found"
    assert (await comm.receive_output())["code"] == 4404


async def test_hello_lists_recent_and_held_comments(live_event, viewer, moderator):
    make = database_sync_to_async(Comment.objects.create)
    held = await make(event=live_event, author=viewer, text="wait", media_ms=1, status="held")
    shown = await make(event=live_event, author=viewer, text="hi", media_ms=2)
    comm, hello = await open_moderation(moderator)
    assert [(c["id"], c["status"]) for c in hello["comments"]] == [(held.pk, "held"), (shown.pk, "visible")]
    assert hello["held"] == 1 and hello["event"]["slug"] == "final"
    assert hello["comments"][0]["author"] == {"id": viewer.pk, "name": "Ana", "username": "ana"}
    await comm.disconnect()


async def test_comments_stream_in_as_they_are_stored_held_ones_included(live_event, viewer, moderator):
    await add_term(moderator, "referee", "hold")
    mod, _ = await open_moderation(moderator)
    poster = await open_room(viewer)
    await post(poster, "what a goal", "c1")
    assert (await next_frame(poster, "ack"))["status"] == "visible"
    frame = await next_frame(mod, "moderation.comment")
    assert (frame["comment"]["text"], frame["comment"]["status"]) == ("what a goal", "visible")

    await post(poster, "the referee!", "c2")
    ack = await next_frame(poster, "ack")
    assert ack["status"] == "held" and "item" not in ack
    notice = await next_frame(poster, "notice")
    assert (notice["code"], notice["comment"]) == ("comment_held", ack["id"])
    frame = await next_frame(mod, "moderation.comment")
    assert frame["comment"]["status"] == "held" and frame["comment"]["term"]["pattern"] == "referee"
    for comm in (mod, poster):
        await comm.disconnect()


async def test_one_click_hide_retracts_from_every_viewer(live_event, viewer, moderator):
    mod, _ = await open_moderation(moderator)
    poster = await open_room(viewer)
    watcher = await open_room()
    await post(poster, "spoiler!")
    comment_id = (await next_frame(poster, "ack"))["id"]
    assert (await next_frame(watcher, "danmaku"))["items"][0]["id"] == comment_id

    await mod.send_json_to({"type": "moderation.hide", "ref": "h1", "comment": comment_id, "reason": "spoiler"})
    ack = await next_frame(mod, "ack")
    assert (ack["ref"], ack["id"], ack["changed"], ack["status"]) == ("h1", comment_id, 1, "hidden")
    for comm in (watcher, poster):
        assert (await next_frame(comm, "danmaku.retract"))["ids"] == [comment_id]
    update = await next_frame(mod, "moderation.update")
    assert (update["ids"], update["status"], update["by"]) == ([comment_id], "hidden", "Mo")
    for comm in (mod, poster, watcher):
        await comm.disconnect()


async def test_one_click_time_out_refuses_the_author_with_the_end_time(live_event, viewer, moderator):
    mod, _ = await open_moderation(moderator)
    poster = await open_room(viewer)
    await mod.send_json_to({"type": "moderation.timeout", "ref": "t1", "user": viewer.pk, "minutes": 10, "reason": "flood"})
    ack = await next_frame(mod, "ack")
    sanction = await database_sync_to_async(Sanction.objects.get)()
    assert ack["id"] == sanction.pk and ack["until"]
    notice = await next_frame(poster, "notice")
    assert (notice["code"], notice["until"]) == ("timed_out", ack["until"])
    assert (await next_frame(mod, "moderation.sanction"))["user"]["id"] == viewer.pk

    await post(poster, "let me talk")
    error = await next_frame(poster, "error")
    assert (error["code"], error["until"], error["ref"]) == ("timed_out", ack["until"], "c1")
    assert sanction.ends_at - sanction.created_at == pytest.approx(timedelta(minutes=10), abs=timedelta(seconds=2))
    for comm in (mod, poster):
        await comm.disconnect()


async def test_approving_a_held_comment_airs_it_and_tells_the_author(live_event, viewer, moderator, make_user):
    await add_term(moderator, "referee", "hold")
    mod, _ = await open_moderation(moderator)
    poster = await open_room(viewer)
    watcher = await open_room(await database_sync_to_async(make_user)("ben"))
    await post(poster, "referee!")
    held_id = (await next_frame(poster, "ack"))["id"]
    await mod.send_json_to({"type": "moderation.approve", "ref": "a1", "comment": held_id})
    assert (await next_frame(mod, "ack"))["status"] == "visible"
    assert (await next_frame(watcher, "danmaku"))["items"][0]["id"] == held_id
    notice = await next_frame(poster, "notice")
    while notice["code"] != "comment_approved":
        notice = await next_frame(poster, "notice")
    # Held and approved notices went to the author only.
    assert await watcher.receive_nothing(timeout=0.3)
    for comm in (mod, poster, watcher):
        await comm.disconnect()


async def test_every_action_is_checked_again(live_event, viewer, moderator):
    """A moderator taken out of the group mid-show loses the open socket's powers."""
    comment = await database_sync_to_async(Comment.objects.create)(event=live_event, author=viewer, text="x", media_ms=1)
    mod, _ = await open_moderation(moderator)
    group = await database_sync_to_async(Group.objects.get)(name="moderators")
    await database_sync_to_async(moderator.groups.remove)(group)
    await mod.send_json_to({"type": "moderation.hide", "ref": "h", "comment": comment.pk})
    assert (await next_frame(mod, "error"))["code"] == "forbidden"
    assert (await database_sync_to_async(Comment.objects.get)(pk=comment.pk)).status == "visible"
    await mod.disconnect()


@pytest.mark.parametrize(
    "message, code",
    [
        ({"type": "moderation.hide", "comment": "7"}, "invalid_message"),
        ({"type": "moderation.hide", "comment": 999999}, "not_found"),
        ({"type": "moderation.timeout", "user": 999999, "minutes": 5}, "not_found"),
        ({"type": "moderation.timeout", "user": 1, "minutes": "5"}, "invalid_duration"),
        ({"type": "moderation.dance"}, "unknown_type"),
    ],
)
async def test_bad_actions_get_typed_errors(live_event, moderator, message, code):
    mod, _ = await open_moderation(moderator)
    await mod.send_json_to({"ref": "r", **message})
    error = await next_frame(mod, "error")
    assert (error["ref"], error["code"]) == ("r", code)
    await mod.disconnect()


async def test_comments_of_another_event_cannot_be_touched_from_this_page(live_event, viewer, moderator):
    from django.utils import timezone

    from events.models import Event

    other = await database_sync_to_async(Event.objects.create)(title="Gala", slug="gala", status="live", started_at=timezone.now())
    comment = await database_sync_to_async(Comment.objects.create)(event=other, author=viewer, text="x", media_ms=1)
    mod, _ = await open_moderation(moderator)
    await mod.send_json_to({"type": "moderation.hide", "ref": "h", "comment": comment.pk})
    assert (await next_frame(mod, "error"))["code"] == "not_found"
    await mod.disconnect()
