"""The tally pump: the first vote after a quiet spell publishes at once, a burst after it once per interval."""
import asyncio

import pytest

from polls import services, tally

# The pump runs its publish through database_sync_to_async, which checks connections.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broadcasts(monkeypatch, settings):
    settings.POLL_TALLY_MS = 100
    sent = []
    monkeypatch.setattr(services, "poll_broadcast", lambda *, poll_id, tally=False: sent.append(poll_id))
    return sent


async def test_a_burst_publishes_at_once_then_once_per_interval(broadcasts):
    pump = tally.get_pump()
    await pump.touch(7)
    assert broadcasts == [7]
    for _ in range(50):
        await pump.touch(7)
    await pump.touch(8)
    assert broadcasts == [7]
    await asyncio.sleep(0.15)
    assert broadcasts == [7, 7, 8]
    await asyncio.sleep(0.15)
    assert pump.task.done() and broadcasts == [7, 7, 8]


async def test_after_a_quiet_interval_the_next_vote_publishes_at_once(broadcasts):
    pump = tally.get_pump()
    await pump.touch(7)
    await asyncio.sleep(0.25)
    await pump.touch(7)
    assert broadcasts == [7, 7]


async def test_a_mark_from_a_database_thread_publishes_at_once_then_once_per_interval(broadcasts):
    """vote_counted from a thread while the pump's loop runs: the vote does not wait, the tally still coalesces."""
    pump = tally.get_pump()
    await asyncio.to_thread(lambda: [tally.vote_counted(5) for _ in range(20)])
    await asyncio.sleep(0.02)
    assert broadcasts == [5]
    await asyncio.sleep(0.15)
    assert broadcasts == [5, 5]
    assert pump.published == 2


def test_outside_a_server_each_vote_publishes(broadcasts):
    """Without a lasting event loop (a command, a worker), vote_counted publishes every time."""
    tally.vote_counted(3)
    tally.vote_counted(3)
    assert broadcasts == [3, 3]


async def test_one_pump_per_event_loop():
    assert tally.get_pump() is tally.get_pump()


def test_processes_share_the_interval_through_the_cache(open_poll, monkeypatch, settings):
    """A tally within POLL_TALLY_MS of another (any process's) is not sent; a launch or close always is."""
    from chat import broadcast

    settings.POLL_TALLY_MS = 200
    sent = []
    monkeypatch.setattr(broadcast, "publish_frame", lambda event_id, key, frame: sent.append(frame["poll"]["status"]))
    assert services.poll_broadcast(poll_id=open_poll.pk, tally=True) is True
    assert services.poll_broadcast(poll_id=open_poll.pk, tally=True) is False
    assert services.poll_broadcast(poll_id=open_poll.pk) is True
    import time

    time.sleep(0.2)
    assert services.poll_broadcast(poll_id=open_poll.pk, tally=True) is True
    assert sent == ["open", "open", "open"]


async def test_a_tally_another_process_just_sent_goes_at_the_next_interval(monkeypatch, settings):
    settings.POLL_TALLY_MS = 100
    answers = iter([False, True])
    sent = []

    def broadcast(*, poll_id, tally=False):
        answer = next(answers)
        if answer:
            sent.append(poll_id)
        return answer

    monkeypatch.setattr(services, "poll_broadcast", broadcast)
    pump = tally.get_pump()
    await pump.touch(4)
    assert sent == []
    await asyncio.sleep(0.15)
    assert sent == [4]
