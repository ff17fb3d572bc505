"""
Producers' frames and poll.vote on the room socket, end to end through the ASGI
stack and the process hub (in-memory layer; test_redis.py runs the tally on Redis).
"""
import asyncio

import pytest
from channels.db import database_sync_to_async

from events import services as events_services
from polls import services
from polls.models import Vote
from tests.chat.test_consumers import connect, next_frame, token_for
from tests.events.conftest import ROLES

pytestmark = pytest.mark.django_db(transaction=True)


async def frames_until(comm, done, timeout=5.0) -> list[dict]:
    """Every frame until ``done(frame)`` is true (inclusive)."""
    frames = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        frame = await comm.receive_json_from(timeout=max(0.05, deadline - asyncio.get_running_loop().time()))
        frames.append(frame)
        if done(frame):
            return frames


async def voter(user):
    comm = await connect(token=await token_for(user), headers=())
    await next_frame(comm, "hello")
    return comm


@pytest.mark.parametrize("role_user", ROLES, indirect=True)
async def test_permission_matrix_for_voting_over_the_socket(request, role_user, open_poll):
    """Anonymous sockets get auth_required; every account (viewer, moderator, producer, superuser) gets its ack."""
    role = request.node.callspec.params["role_user"]
    comm = await (connect() if role_user is None else voter(role_user))
    option = (await database_sync_to_async(lambda: open_poll.options.first())()).pk
    await comm.send_json_to({"type": "poll.vote", "ref": "v1", "poll": open_poll.pk, "option": option})
    if role == "anonymous":
        error = await next_frame(comm, "error")
        assert (error["ref"], error["code"]) == ("v1", "auth_required")
    else:
        ack = await next_frame(comm, "ack")
        assert ack == {"type": "ack", "ref": "v1", "id": ack["id"]}
        assert await database_sync_to_async(Vote.objects.filter(pk=ack["id"], user=role_user).exists)()
    await comm.disconnect()


async def test_vote_errors_carry_the_ref_and_a_stable_code(open_poll, viewer, make_poll, producer):
    comm = await voter(viewer)
    options = await database_sync_to_async(lambda: [o.pk for o in open_poll.options.all()])()
    other = await database_sync_to_async(make_poll)(question="Other?", options=["x", "y"])
    other_option = await database_sync_to_async(lambda: other.options.first().pk)()

    async def answer(message):
        await comm.send_json_to({"type": "poll.vote", "ref": "r", **message})
        while True:
            frame = await comm.receive_json_from(timeout=3)
            if frame["type"] in ("ack", "error"):
                return frame.get("code", "ack")

    assert await answer({"poll": open_poll.pk, "option": other_option}) == "invalid_option"
    assert await answer({"poll": open_poll.pk, "option": "first"}) == "invalid_option"
    assert await answer({"poll": other.pk, "option": other_option}) == "poll_not_found"
    assert await answer({"poll": open_poll.pk, "option": options[0]}) == "ack"
    assert await answer({"poll": open_poll.pk, "option": options[1]}) == "already_voted"
    await database_sync_to_async(services.poll_close)(poll=open_poll, by=producer)
    other = await database_sync_to_async(services.poll_launch)(poll=other, by=producer)
    await database_sync_to_async(services.poll_close)(poll=other, by=producer)
    assert await answer({"poll": other.pk, "option": other_option}) == "poll_closed"
    await comm.disconnect()


async def test_hello_carries_stats_moments_and_the_open_poll(live_event, producer, open_poll):
    await database_sync_to_async(events_services.stats_push)(
        event=live_event, by=producer, data={"scoreboard": {"sides": [{"name": "AUT", "score": 1}], "clock": "1:52"}}
    )
    await database_sync_to_async(events_services.moment_push)(
        event=live_event, by=producer, data={"kind": "record", "title": "Course record", "media_ms": 4000}
    )
    comm = await connect()
    hello = await comm.receive_json_from()
    assert hello["stats"]["scoreboard"] == {"sides": [{"name": "AUT", "score": 1}], "clock": "1:52"}
    assert [m["title"] for m in hello["moments"]] == ["Course record"]
    assert hello["poll"]["id"] == open_poll.pk and hello["poll"]["status"] == "open"
    assert set(hello["poll"]) >= {"id", "question", "options", "status", "total", "closes_at", "media_ms"}
    await comm.disconnect()


async def test_a_burst_of_votes_reaches_viewers_as_a_few_tallies_with_the_exact_total(open_poll, make_user, settings):
    """Twenty votes in a burst: the watcher sees fewer poll frames than votes, and the last one counts all twenty."""
    settings.POLL_TALLY_MS = 200
    watcher = await connect()
    await watcher.receive_json_from()
    users = [await database_sync_to_async(make_user)() for _ in range(20)]
    voters = [await voter(u) for u in users]
    options = await database_sync_to_async(lambda: [o.pk for o in open_poll.options.all()])()
    for n, comm in enumerate(voters):
        await comm.send_json_to({"type": "poll.vote", "ref": n, "poll": open_poll.pk, "option": options[n % 3]})
    for comm in voters:
        await next_frame(comm, "ack")
    frames = await frames_until(watcher, lambda f: f["type"] == "poll" and f["poll"]["total"] == 20)
    polls = [f for f in frames if f["type"] == "poll"]
    assert 1 <= len(polls) < 20
    assert [o["votes"] for o in polls[-1]["poll"]["options"]] == [7, 7, 6]
    for comm in voters + [watcher]:
        await comm.disconnect()


async def test_results_shown_after_closing_reach_viewers_only_at_the_close(make_poll, producer, make_user):
    poll = await database_sync_to_async(services.poll_launch)(poll=await database_sync_to_async(make_poll)(results_visibility="after_close"), by=producer)
    watcher = await connect()
    hello = await watcher.receive_json_from()
    assert hello["poll"]["results_hidden"] is True and hello["poll"]["total"] is None
    comm = await voter(await database_sync_to_async(make_user)())
    option = await database_sync_to_async(lambda: poll.options.first().pk)()
    await comm.send_json_to({"type": "poll.vote", "ref": "v", "poll": poll.pk, "option": option})
    await next_frame(comm, "ack")
    await database_sync_to_async(services.poll_close)(poll=poll, by=producer)
    frames = await frames_until(watcher, lambda f: f["type"] == "poll")
    assert [f["poll"]["status"] for f in frames if f["type"] == "poll"] == ["closed"]
    assert frames[-1]["poll"]["total"] == 1 and frames[-1]["poll"]["results_hidden"] is False
    await comm.disconnect()
    await watcher.disconnect()


async def test_a_poll_whose_time_is_up_closes_for_the_room_with_no_browser_involved(open_poll):
    """The sweep (beat, polls_loop) closes it; open sockets get the closed frame."""
    watcher = await connect()
    await watcher.receive_json_from()
    await database_sync_to_async(lambda: type(open_poll).objects.filter(pk=open_poll.pk).update(
        closes_at=open_poll.opens_at))()
    assert await database_sync_to_async(services.polls_close_due)() == 1
    frame = await next_frame(watcher, "poll")
    assert frame["poll"]["id"] == open_poll.pk and frame["poll"]["status"] == "closed"
    await watcher.disconnect()


async def test_lifecycle_stats_and_moments_reach_open_pages(producer, settings):
    """A burst of stats pushes arrives as the latest document; go-live, moments arrive as their own frames."""
    from events.models import Event

    settings.ROOM_TICK_MS = 300
    event = await database_sync_to_async(Event.objects.create)(title="Gala", slug="gala")
    watcher = await connect("/ws/events/gala/")
    hello = await watcher.receive_json_from()
    assert hello["event"]["status"] == "scheduled" and hello["stats"] is None and hello["moments"] == []
    event = await database_sync_to_async(events_services.event_go_live)(event=event, by=producer)
    assert (await next_frame(watcher, "event"))["event"]["status"] == "live"
    for n in range(5):
        await database_sync_to_async(events_services.stats_push)(event=event, by=producer, data={"scoreboard": {"clock": f"0:0{n}"}})
    await database_sync_to_async(events_services.moment_push)(event=event, by=producer, data={"kind": "performance", "title": "Opening act"})
    frames = await frames_until(watcher, lambda f: f["type"] == "stats" and f["stats"]["scoreboard"]["clock"] == "0:04")
    assert len([f for f in frames if f["type"] == "stats"]) < 5
    moment = next((f for f in frames if f["type"] == "moment"), None) or await next_frame(watcher, "moment")
    assert moment["moment"]["title"] == "Opening act"
    await watcher.disconnect()
