"""
Processes the tool starts and measures: Daphne workers, a private Redis, and
the small Django helper (loadtest.accounts). Everything listens on 127.0.0.1;
everything started here is stopped here, by its own pid.
"""
import errno
import os
import random
import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent

COMPANION_APP = "companion.asgi:application"
STOCK_APP = "loadtest.stock_asgi:application"


def raise_nofile_limit() -> tuple[int, int]:
    """Raise this process's open-files limit to the hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return soft, hard


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """``count`` consecutive free ports below the ephemeral range (32768+)."""
    for _ in range(200):
        base = random.randint(20000, 32000 - count)
        ports = list(range(base, base + count))
        if all(port_free(p) for p in ports):
            return ports
    raise RuntimeError(f"no {count} consecutive free ports found")


def wait_http_ok(port: int, path: str = "/healthz", timeout: float = 30.0, proc=None) -> bool:
    deadline = time.monotonic() + timeout
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(request)
                reply = sock.recv(64)
                if reply.startswith(b"HTTP/1.1 200") or reply.startswith(b"HTTP/1.0 200"):
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


class Redis:
    """A private, throwaway redis-server (no persistence) on a free loopback port."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        for _ in range(5):
            self.port = free_ports(1)[0]
            self.proc = subprocess.Popen(
                ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                 "--appendonly", "no", "--protected-mode", "yes", "--maxclients", "10000",
                 "--dir", str(self.workdir), "--daemonize", "no"],
                stdout=open(self.workdir / "redis.log", "ab"), stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                if self.command("PING") == b"+PONG":
                    return self
                time.sleep(0.05)
            self.stop()
        raise RuntimeError("redis-server did not start")

    def command(self, *args: str) -> bytes | None:
        """Send one command in RESP and return the first line of the reply."""
        payload = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
                sock.sendall(payload.encode())
                return sock.recv(4096).split(b"\r\n", 1)[0]
        except OSError:
            return None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


class Workers:
    """N Daphne processes of one ASGI app on consecutive ports, same env."""

    def __init__(self, *, app: str, count: int, env: dict, logdir: Path, label: str,
                 daphne_args: list[str] | None = None, launcher: str = "daphne"):
        self.launcher = launcher
        self.app = app
        self.count = count
        self.env = env
        self.logdir = logdir
        self.label = label
        self.daphne_args = daphne_args or []
        self.procs: list[subprocess.Popen] = []
        self.ports: list[int] = []

    def start(self, timeout: float = 60.0):
        self.logdir.mkdir(parents=True, exist_ok=True)
        self.ports = free_ports(self.count)
        for index, port in enumerate(self.ports):
            log = open(self.logdir / f"{self.label}-{index}.log", "ab")
            self.procs.append(
                subprocess.Popen(
                    # The listen backlog of scripts/prod.sh (Twisted's default, 50, overflows in a surge).
                    [sys.executable, "-m", self.launcher, "-e", f"tcp:port={port}:interface=127.0.0.1:backlog=1024", "-v", "0",
                     "--websocket-max-message-size", "65536", *self.daphne_args, self.app],
                    cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )
            )
        for proc, port in zip(self.procs, self.ports):
            if not wait_http_ok(port, timeout=timeout, proc=proc):
                self.stop()
                raise RuntimeError(f"{self.label}: daphne on port {port} did not come up; see {self.logdir}")
        return self

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def alive(self) -> list[bool]:
        return [p.poll() is None for p in self.procs]

    def stop(self):
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.procs = []

    def log_errors(self) -> dict:
        """Exceptions the server logged (count, and the distinct last lines of tracebacks)."""
        count, kinds = 0, {}
        for path in sorted(self.logdir.glob(f"{self.label}-*.log")):
            lines = path.read_text(errors="replace").splitlines()
            for i, line in enumerate(lines):
                if line.startswith("Traceback (most recent call last)"):
                    count += 1
                    # The exception line is the first unindented line after the traceback.
                    for later in lines[i + 1 : i + 200]:
                        if later and not later.startswith(" "):
                            kinds[later[:200]] = kinds.get(later[:200], 0) + 1
                            break
        return {"tracebacks": count, "by_exception": dict(sorted(kinds.items(), key=lambda kv: -kv[1])[:10])}

    def log_tail(self, lines: int = 20) -> dict[str, list[str]]:
        tails = {}
        for path in sorted(self.logdir.glob(f"{self.label}-*.log")):
            text = path.read_text(errors="replace").splitlines()
            tails[path.name] = text[-lines:]
        return tails


class ProcGroup:
    """CPU seconds and RSS of a set of pids (the server's processes)."""

    def __init__(self, pids):
        self.procs = []
        for pid in pids:
            try:
                self.procs.append(psutil.Process(pid))
            except psutil.NoSuchProcess:
                pass

    def cpu_s(self) -> float:
        total = 0.0
        for proc in self.procs:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.NoSuchProcess:
                pass
        return total

    def rss(self) -> int:
        total = 0
        for proc in self.procs:
            try:
                total += proc.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def threads(self) -> int:
        total = 0
        for proc in self.procs:
            try:
                total += proc.num_threads()
            except psutil.NoSuchProcess:
                pass
        return total


def run_helper(args: list[str], env: dict, timeout: float = 300) -> str:
    """Run ``python -m loadtest.accounts ARGS`` with the server's env; return stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "loadtest.accounts", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"loadtest.accounts {args[0]} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def describe_oserror(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, ConnectionResetError):
        return "reset"
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        return "too_many_open_files"
    if exc.errno == errno.EADDRNOTAVAIL:
        return "no_local_port"
    if exc.errno == errno.EADDRINUSE:
        return "address_in_use"
    return f"oserror_{errno.errorcode.get(exc.errno, exc.errno)}"


def machine() -> dict:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
        "nofile_limit": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
    }
