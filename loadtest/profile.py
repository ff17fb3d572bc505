"""
Optional server profile during the window with py-spy (``pip install py-spy``;
not a requirement of the project). Records collapsed stacks of one server
process, idle samples included (``--idle``: a thread waiting is as telling as a
thread working), and summarises per thread: how often it was waiting, the
busiest leaf frames, and inclusive buckets that matter for the fan-out.

py-spy samples wall-clock time: on a machine where other processes compete for
the CPU, "busy" includes time the thread was runnable but not running.
"""
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

# A sample whose leaf frame is one of these is a thread waiting, not working.
IDLE_LEAVES = (
    "EpollSelector.select (selectors.py",
    "select (selectors.py",
    "Condition.wait (threading.py",
    "_worker (concurrent/futures/thread.py:89)",
    "SimpleQueue.get",
    "Event.wait (threading.py",
    "Thread._wait_for_tstate_lock",
    "Lock.acquire",
)

# Inclusive buckets (a sample counts for each bucket one of its frames matches).
# Frames look like "function (path/file.py:line)".
BUCKETS = {
    "hub_flush (tick: frames for all local sockets)": ("RoomHub.flush (",),
    "hub_send_tick (one write per socket per tick)": ("RoomHub.send_tick (", "RoomHub.send_text ("),
    "autobahn_sendMessage (per-socket framing)": ("WebSocketProtocol.sendMessage (",),
    "twisted_startWriting (add_writer per write)": ("FileDescriptor.startWriting (",),
    "twisted_doWrite (socket send)": ("FileDescriptor.doWrite (",),
    "json_encode": ("JSONEncoder.encode (", "encode_json (", "dumps (json/"),
    "json_decode": ("JSONDecoder.decode (", "loads (json/"),
    "consumer_dispatch (per-socket layer message)": ("await_many_dispatch (",),
    "aclose_old_connections (sync-thread hop per handler)": ("aclose_old_connections (",),
    "channel_layer": ("channels/layers.py", "channels_redis/"),
    "websocket_receive (client frames in)": ("WebSocketProtocol.processData (",),
    "connect_path (auth, session, room entry)": ("SocketAuthMiddleware.__call__ (", "get_user (", "room_entry ("),
    "danmaku_post (validate, store)": ("danmaku_post (",),
    "db_commit": ("BaseDatabaseWrapper.commit (",),
    "db_close_old_connections": ("close_old_connections (",),
    "sync_thread_waits_for_loop (async_to_sync in on_commit publish)": ("AsyncToSync.__call__ (",),
    "gc": ("gc_collect", "(garbage collection)"),
}


def py_spy_path() -> str | None:
    candidate = Path(sys.executable).parent / "py-spy"
    if candidate.exists():
        return str(candidate)
    return shutil.which("py-spy")


def _thread_name(first: str) -> str:
    # "thread (1234): MainThread" -> "MainThread"; pool threads are numbered.
    name = first.split(":", 1)[-1].strip()
    return name.split("_")[0] if name.startswith("ThreadPoolExecutor") else name


def summarise(collapsed: Path, top: int = 15) -> dict:
    threads: dict[str, Counter] = defaultdict(Counter)
    leaves: dict[str, Counter] = defaultdict(Counter)
    buckets: dict[str, Counter] = defaultdict(Counter)
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        thread = _thread_name(frames[0]) if frames[0].startswith("thread") else "all"
        leaf = frames[-1]
        threads[thread]["samples"] += n
        idle = any(leaf.startswith(x) or x in leaf for x in IDLE_LEAVES)
        joined = ";".join(frames)
        # A thread blocked in async_to_sync is waiting for the event loop: keep it
        # visible as its own bucket even though its leaf is a wait.
        for bucket, needles in BUCKETS.items():
            if any(needle in joined for needle in needles):
                buckets[thread][bucket] += n
        if idle:
            threads[thread]["idle"] += n
        else:
            leaves[thread][leaf] += n
    out = {"note": "wall-clock samples (py-spy --idle); percentages are of all samples of that thread"}
    for thread, counts in threads.items():
        total = counts["samples"] or 1
        out[thread] = {
            "samples": counts["samples"],
            "waiting_pct": round(100 * counts["idle"] / total, 1),
            "top_busy_frames": [{"frame": f, "pct": round(100 * n / total, 1)} for f, n in leaves[thread].most_common(top)],
            "buckets_pct": {b: round(100 * n / total, 1) for b, n in buckets[thread].most_common()},
        }
    return out


class PySpy:
    def __init__(self, pid: int, out: Path, rate: int = 200):
        self.pid = pid
        self.out = out
        self.rate = rate
        self.proc: subprocess.Popen | None = None
        self.exe = py_spy_path()

    def start(self, duration: float):
        if not self.exe:
            return
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [self.exe, "record", "-p", str(self.pid), "-d", str(max(1, int(duration))), "-r", str(self.rate),
             "-f", "raw", "-o", str(self.out), "--nonblocking", "--threads", "--idle"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

    def finish(self) -> dict:
        if not self.exe:
            return {"error": "py-spy not installed (pip install py-spy)"}
        if self.proc is None:
            return {"error": "not started"}
        try:
            _, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            return {"error": "py-spy did not finish"}
        if not self.out.exists():
            return {"error": (err or b"").decode(errors="replace")[-500:]}
        result = summarise(self.out)
        result["file"] = str(self.out)
        return result
