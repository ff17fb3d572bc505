"""
The room socket's votes, counted in batches: one database call for every vote
that arrived while the previous call ran.

A burst of votes on one process then costs one hop to the database thread
and one statement per batch, not per vote, while a lone vote goes at once
(no waiting for a batch to fill). Each voter still gets its own answer: its
Vote, or the error of its ballot alone.
"""
import asyncio
import contextvars

from channels.db import database_sync_to_async

from companion.errors import ServiceError

from . import services

# The largest batch (one statement's parameters).
MAX_BATCH = 500


class VoteBatcher:
    def __init__(self):
        self.loop = asyncio.get_running_loop()
        self.pending: list[tuple[services.Ballot, asyncio.Future]] = []
        self.task: asyncio.Task | None = None
        self.batches = 0

    async def vote(self, ballot: services.Ballot):
        """The Vote of ``ballot``, or its ServiceError raised."""
        future = self.loop.create_future()
        self.pending.append((ballot, future))
        if self.task is None or self.task.done():
            # A context of its own: the batcher outlives the socket that started it.
            self.task = self.loop.create_task(self._drain(), name="poll-votes", context=contextvars.Context())
        result = await future
        if isinstance(result, ServiceError):
            raise result
        return result

    async def _drain(self) -> None:
        while self.pending:
            batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
            self.batches += 1
            try:
                results = await database_sync_to_async(services.poll_vote_batch)(ballots=[b for b, _ in batch])
            except Exception as error:  # the whole statement failed: every voter in it is told
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results):
                if not future.done():
                    future.set_result(result)


_batcher: VoteBatcher | None = None


def get_batcher() -> VoteBatcher:
    """The batcher of the running event loop (one per server process)."""
    global _batcher
    loop = asyncio.get_running_loop()
    if _batcher is None or _batcher.loop is not loop or _batcher.loop.is_closed():
        _batcher = VoteBatcher()
    return _batcher
