"""
Daphne running Companion with server-side changes applied as patches, for the
``companion+PATCHES`` variants of the load tool (``--compare-tuned``). The app's
code is not edited: this measures, in the same run as the unpatched server,
what a proposed change would buy. Patches (comma-separated in LOADTEST_PATCHES):

gc       import the app, ``gc.collect(); gc.freeze()``, then
         ``gc.set_threshold(*LOADTEST_GC_THRESHOLD)`` (default 50000,50,1000): the
         cyclic collector stops re-walking every socket's long-lived objects.
publish  ``chat.broadcast.publish`` called off the event loop (the on-commit hook
         in the single database thread) schedules the ``group_send`` on the loop
         and returns at once, instead of blocking that thread in ``async_to_sync``
         until the loop gets round to it.
yield    ``RoomHub.send_text`` writes at most LOADTEST_YIELD_EVERY (default 256)
         sockets, then yields to the loop, so a long flush does not hold up
         reads, acks and the database thread's callbacks.

    LOADTEST_PATCHES=gc,publish python -m loadtest.daphne_tuned [daphne args] APP
"""
import asyncio
import gc
import importlib
import logging
import os
import sys

logger = logging.getLogger("loadtest.tuned")


def patch_gc():
    gc.collect()
    gc.freeze()
    threshold = os.environ.get("LOADTEST_GC_THRESHOLD", "50000,50,1000")
    gc.set_threshold(*(int(x) for x in threshold.split(",")))


def patch_publish():
    from channels.layers import get_channel_layer

    from chat import broadcast, wire
    from chat import hub as hub_module

    original = broadcast.publish

    def publish(event_id, message):
        hub = getattr(hub_module, "_hub", None)
        loop = getattr(hub, "loop", None)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or loop.is_closed() or running is loop:
            return original(event_id, message)
        full = {**message, "event": event_id}
        group = wire.room_group(event_id)

        async def send():
            try:
                await get_channel_layer().group_send(group, full)
            except Exception:
                logger.exception("publish to event %s failed", event_id)

        loop.call_soon_threadsafe(lambda: loop.create_task(send()))

    broadcast.publish = publish


def patch_yield():
    from chat.hub import RoomHub

    every = int(os.environ.get("LOADTEST_YIELD_EVERY", "256"))
    original = RoomHub.send_text

    async def send_text(self, sockets, text, **kwargs):
        sockets = list(sockets)
        if len(sockets) <= every:
            return await original(self, sockets, text, **kwargs)
        for start in range(0, len(sockets), every):
            await original(self, sockets[start : start + every], text, **kwargs)
            await asyncio.sleep(0)

    RoomHub.send_text = send_text


PATCHES = {"gc": patch_gc, "publish": patch_publish, "yield": patch_yield}


def main():
    app = sys.argv[-1]
    sys.path.insert(0, os.getcwd())
    importlib.import_module(app.split(":", 1)[0])
    names = [n for n in os.environ.get("LOADTEST_PATCHES", "").split(",") if n]
    for name in names:
        if name not in PATCHES:
            raise SystemExit(f"loadtest.daphne_tuned: unknown patch {name!r} (known: {', '.join(PATCHES)})")
    # gc last: freeze what the other patches allocated too.
    for name in sorted(names, key=lambda n: n == "gc"):
        PATCHES[name]()
    from daphne.cli import CommandLineInterface

    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
