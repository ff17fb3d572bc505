"""
Companion's load tool: ``python -m loadtest --help``.

Drives a running (or spawned) Daphne over loopback with thousands of raw
WebSocket viewers, posters that post at a fixed rate, and a few tracked viewers
that decode every frame to measure post-to-screen latency. See
docs/benchmarks.md for how it is used and what it measured.
"""
