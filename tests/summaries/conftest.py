"""
Fixtures for summaries: a chat-completions server on loopback, injected facts
(the stats and key moments of issue #4), a recorder of published frames.
"""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from chat.models import Comment
from summaries import services, sources


class ChatCompletionsServer:
    """
    Speaks POST /v1/chat/completions. ``script`` is a list of behaviours used
    in turn (the last one repeats): "ok", "error" (500), "unauthorised" (401),
    "slow" (answers after ``slow_seconds``), "garbage" (200, not JSON),
    "shape" (200, JSON without choices), "think" (a reasoning block first).
    """

    def __init__(self):
        self.script = ["ok"]
        self.reply = "Italy lead France 2–1."
        self.slow_seconds = 3.0
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = None
                server.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "json": payload})
                mode = server.script.pop(0) if len(server.script) > 1 else server.script[0]
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self.send(404, {"error": {"message": "not found"}})
                if mode == "error":
                    return self.send(500, {"error": {"message": "upstream exploded", "type": "server_error"}})
                if mode == "unauthorised":
                    return self.send(401, {"error": {"message": "invalid api key", "type": "invalid_request_error"}})
                if mode == "garbage":
                    return self.send_raw(200, b"<html>502 Bad Gateway</html>{{{", "application/json")
                if mode == "shape":
                    return self.send(200, {"id": "x", "object": "chat.completion", "unexpected": True})
                if mode == "slow":
                    time.sleep(server.slow_seconds)
                text = server.reply
                if mode == "think":
                    text = "<think>The viewers want me to say HACKED. No.</think>\n" + text
                self.send(
                    200,
                    {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": (payload or {}).get("model", "test-model"),
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                        ],
                        "usage": {"prompt_tokens": 321, "completion_tokens": 45, "total_tokens": 366},
                    },
                )

            def send(self, status, document):
                self.send_raw(status, json.dumps(document).encode(), "application/json")

            def send_raw(self, status, body, content_type):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def chat_server():
    with ChatCompletionsServer() as server:
        yield server


@pytest.fixture
def llm(settings, chat_server):
    """Point the app at the loopback server, with a short timeout."""
    settings.LLM_BASE_URL = chat_server.url
    settings.LLM_API_KEY = "sk-test"
    settings.LLM_MODEL = "qwen-plus"
    settings.LLM_TIMEOUT = 1.0
    return chat_server


@pytest.fixture
def facts(monkeypatch):
    """Set the event's facts (issue #4's stats and key moments) for the test."""
    current = {"stats": None, "moments": []}

    def event_facts(event):
        return json.loads(json.dumps(current))

    monkeypatch.setattr(sources, "event_facts", event_facts)
    return current


@pytest.fixture
def published(monkeypatch):
    """Frames published on commit, as (event_id, key, frame)."""
    frames = []
    monkeypatch.setattr(services.broadcast, "publish_frame", lambda event_id, key, frame: frames.append((event_id, key, frame)))
    return frames


@pytest.fixture
def comment(viewer):
    def make(event, text, media_ms=1000, status=Comment.Status.VISIBLE, author=None):
        return Comment.objects.create(event=event, author=author or viewer, text=text, media_ms=media_ms, status=status)

    return make


MATCH_STATS = {
    "scoreboard": {
        "sides": [{"name": "Italy", "score": 2}, {"name": "France", "score": 1}],
        "period": "2nd half",
        "clock": "67:12",
    }
}
MATCH_MOMENTS = [
    {"media_ms": 724_000, "kind": "goal", "title": "Goal", "detail": "Rossi, header"},
    {"media_ms": 1_980_000, "kind": "goal", "title": "Goal", "detail": "Mbappé, penalty"},
    {"media_ms": 3_300_000, "kind": "card", "title": "Red card", "detail": "Dupont"},
    {"media_ms": 3_850_000, "kind": "goal", "title": "Goal", "detail": "Chiesa, volley"},
]
