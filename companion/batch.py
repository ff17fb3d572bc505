"""
Requests stored in batches: one database call for every request that arrived
while the previous call ran.

A burst on one process then costs one hop to the database thread and one
transaction per batch, not per request, while a lone request goes at once (no
waiting for a batch to fill). Each caller still gets its own answer: its
result, or the ServiceError of its request alone. The room socket's votes
(``polls.batch``) and comments (``chat.batch``) go through one of these each.
"""
import asyncio
import contextvars
from collections.abc import Callable

from channels.db import database_sync_to_async

from companion.errors import ServiceError

# The largest batch (one statement's parameters).
MAX_BATCH = 500


class Batcher:
    def __init__(self, handle: Callable[[list], list], *, name: str, max_batch: int = MAX_BATCH):
        """``handle(requests)`` runs in the database thread and returns a result or a ServiceError per request."""
        self.handle = handle
        self.name = name
        self.max_batch = max_batch
        self.loop = asyncio.get_running_loop()
        self.pending: list[tuple[object, asyncio.Future]] = []
        self.task: asyncio.Task | None = None
        self.batches = 0

    async def submit(self, request):
        """The result for ``request``, or its ServiceError raised."""
        future = self.loop.create_future()
        self.pending.append((request, future))
        if self.task is None or self.task.done():
            # A context of its own: the batcher outlives the socket that started it.
            self.task = self.loop.create_task(self._drain(), name=self.name, context=contextvars.Context())
        result = await future
        if isinstance(result, ServiceError):
            raise result
        return result

    async def _drain(self) -> None:
        while self.pending:
            batch, self.pending = self.pending[: self.max_batch], self.pending[self.max_batch :]
            self.batches += 1
            try:
                results = await database_sync_to_async(self.handle)([request for request, _ in batch])
            except Exception as error:  # the whole transaction failed: every caller in it is told
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)


_batchers: dict[str, Batcher] = {}


def batcher(name: str, handle: Callable[[list], list]) -> Batcher:
    """The running event loop's batcher called ``name`` (one per server process)."""
    loop = asyncio.get_running_loop()
    current = _batchers.get(name)
    if current is None or current.loop is not loop or current.loop.is_closed():
        current = _batchers[name] = Batcher(handle, name=name)
    return current
