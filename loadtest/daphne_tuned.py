"""
Daphne running Companion with server-side changes applied as patches, for the
``companion+PATCHES`` variants of the load tool (``--compare-tuned``). The app's
code is not edited: this measures, in the same run as the unpatched server,
what a change buys or what one of the app's choices costs. Patches
(comma-separated in LOADTEST_PATCHES):

autobahn   the hub writes each frame through autobahn's ``sendMessage`` (per-socket
           framing, Twisted's buffered write) instead of ``chat.fastpath``'s one
           pre-built frame sent straight to the socket: the write path before
           commit 1bd9a36.
unbatched  every comment is stored in its own database hop and transaction
           instead of with the others that arrived meanwhile: the post path
           before commit 65fbcc5.
nogc       no ``ASGI_GC_TUNING``: the collector's default thresholds, nothing
           frozen.
none       nothing: the same server again, a control for the order of variants.
secondcap  the display cap's budget is per calendar second, spent by the first ticks
           of each second (a hot room got two to four full frames, then nothing
           for the rest of the second) instead of refilled evenly every tick:
           the hub before commit 16a5fa0.
splitsends each of a tick's frames (stats, poll, presence, danmaku) goes to every socket
           in a send of its own, instead of all of them in one send per socket:
           the hub before commit 2e8065f.
tick       ``ROOM_TICK_MS`` = LOADTEST_TICK_MS (default 200): fewer, larger frames for the
           same comments (half the sends at 200 ms), a tick more of latency.
switch     ``sys.setswitchinterval(LOADTEST_SWITCH_INTERVAL)`` (default 0.0005 s;
           Python's is 0.005): how long the database thread waits for the GIL
           while the event loop is busy writing frames.

(The patches ``gc``, ``publish`` and ``yield`` measured in runs 1-4 became the
app's own code in run 5.)

    LOADTEST_PATCHES=autobahn,unbatched python -m loadtest.daphne_tuned [daphne args] APP
"""
import gc
import importlib
import os
import sys


def patch_autobahn():
    from chat import fastpath

    def write(protocol, frame, payload):
        protocol.sendMessage(payload, False)

    fastpath.raw_transport = lambda protocol: None  # no socket gets the direct send
    fastpath.write = write


def patch_unbatched():
    from companion import batch

    original = batch.Batcher.__init__

    def __init__(self, handle, *, name, max_batch=batch.MAX_BATCH):
        original(self, handle, name=name, max_batch=1 if name == "danmaku-posts" else max_batch)

    batch.Batcher.__init__ = __init__


def patch_nogc():
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)


def patch_switch():
    sys.setswitchinterval(float(os.environ.get("LOADTEST_SWITCH_INTERVAL", "0.0005")))


def patch_secondcap():
    import random

    from chat.hub import RoomHub

    def _sample(self, room, items, now):
        second = int(now)
        if second != getattr(room, "second", None):
            room.second, room.shown_this_second = second, 0
        budget = self.display_cap - room.shown_this_second
        if len(items) > budget:
            self.items_dropped_by_cap += len(items) - max(budget, 0)
            items = random.sample(items, budget) if budget > 0 else []
            items.sort(key=lambda item: item["id"])
        room.shown_this_second += len(items)
        return items

    RoomHub._sample = _sample


def patch_splitsends():
    from chat.hub import RoomHub

    together = RoomHub.send_tick

    async def send_tick(self, sockets, control, danmaku):
        for text in control:
            await together(self, sockets, [text], None)
        if danmaku is not None:
            await together(self, sockets, [], danmaku)

    RoomHub.send_tick = send_tick


def patch_tick():
    from django.conf import settings

    settings.ROOM_TICK_MS = int(os.environ.get("LOADTEST_TICK_MS", "200"))


PATCHES = {"none": lambda: None, "autobahn": patch_autobahn, "unbatched": patch_unbatched, "nogc": patch_nogc, "switch": patch_switch,
           "secondcap": patch_secondcap, "tick": patch_tick,
           "splitsends": patch_splitsends}


def main():
    app = sys.argv[-1]
    sys.path.insert(0, os.getcwd())
    importlib.import_module(app.split(":", 1)[0])
    names = [n for n in os.environ.get("LOADTEST_PATCHES", "").split(",") if n]
    for name in names:
        if name not in PATCHES:
            raise SystemExit(f"loadtest.daphne_tuned: unknown patch {name!r} (known: {', '.join(PATCHES)})")
    for name in names:
        PATCHES[name]()
    from daphne.cli import CommandLineInterface

    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
