"""
Live tallies: a few ``poll`` frames a second while votes pour in, never one per vote.

Each server process has one pump on its event loop. The first vote after a
quiet spell publishes the poll at once; votes that follow within
POLL_TALLY_MS only mark it, and the pump publishes it once at the end of
that interval, with counts read from the database then (a grouped count over
an index: exact, and cheap at this rate). Each process's hub then sends the
latest frame per tick, so a viewer gets at most one poll frame per tick. A
vote's database thread hands its mark to the loop without waiting. Processes
share the time of a poll's last tally (the cache), so the whole site sends
about one tally per interval, not one per process.

Outside a server (a management command, a Celery worker, a sync test) no
pump's loop is running; the loop that ``async_to_sync`` makes ends with the
call, so each vote publishes at once: still correct, and hubs still coalesce.
"""
import asyncio
import contextvars
import logging

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.conf import settings

logger = logging.getLogger(__name__)


class TallyPump:
    def __init__(self):
        self.loop = asyncio.get_running_loop()
        self.interval = settings.POLL_TALLY_MS / 1000
        self.dirty: set[int] = set()
        self.task: asyncio.Task | None = None
        self.published = 0

    async def touch(self, poll_id: int) -> None:
        """A vote for ``poll_id`` committed: publish now if idle (awaited), else at the end of the interval."""
        if self.watching:
            self.dirty.add(poll_id)
            return
        self._start_watch()
        await self._publish(poll_id)

    def mark(self, poll_id: int) -> None:
        """The same from a database thread (through call_soon_threadsafe): the vote never waits."""
        if self.watching:
            self.dirty.add(poll_id)
        else:
            self._start_watch(first=poll_id)

    @property
    def watching(self) -> bool:
        return self.task is not None and not self.task.done()

    def _start_watch(self, first: int | None = None) -> None:
        # The watch runs in a context of its own: this call may come from a
        # database thread (async_to_sync), whose executor is gone when the call returns.
        self.task = self.loop.create_task(self._watch(first), name="poll-tally", context=contextvars.Context())

    async def _watch(self, first: int | None) -> None:
        if first is not None:
            await self._publish(first)
        while True:
            await asyncio.sleep(self.interval)
            if not self.dirty:
                return
            due, self.dirty = self.dirty, set()
            for poll_id in sorted(due):
                await self._publish(poll_id)

    async def _publish(self, poll_id: int) -> None:
        from . import services

        try:
            sent = await database_sync_to_async(services.poll_broadcast)(poll_id=poll_id, tally=True)
            if sent is False:
                # Another process published it a moment ago: ours goes at the next interval.
                self.dirty.add(poll_id)
            else:
                self.published += 1
        except Exception:
            logger.exception("tally: publishing poll %s failed", poll_id)


_pump: TallyPump | None = None


def get_pump() -> TallyPump:
    """The pump of the running event loop (one per server process)."""
    global _pump
    loop = asyncio.get_running_loop()
    if _pump is None or _pump.loop is not loop or _pump.loop.is_closed():
        _pump = TallyPump()
    return _pump


async def _touch(poll_id: int) -> None:
    await get_pump().touch(poll_id)


def vote_counted(poll_id: int) -> None:
    """A vote for ``poll_id`` committed (called on commit by polls.services.poll_vote)."""
    pump = _pump
    try:
        if pump is not None and pump.loop.is_running():
            # A server's database thread: hand the mark to the loop and go on (no wait).
            pump.loop.call_soon_threadsafe(pump.mark, poll_id)
        else:
            async_to_sync(_touch)(poll_id)
    except Exception:
        # Stored is stored: the next vote, the close or a reload shows it.
        logger.exception("tally: poll %s not published", poll_id)
