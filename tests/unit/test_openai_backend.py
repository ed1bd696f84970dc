"""The OpenAI-compatible backend against a real local HTTP server speaking the chat-completions protocol."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from vlmcult.errors import ConfigError
from vlmcult.models import openai_api
from vlmcult.types import Request

Reply = tuple[int, dict[str, str], dict[str, Any]]


class FakeServer:
    """A chat-completions server on 127.0.0.1. `behaviour(body, call_number)` -> (status, headers, json)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.delay = 0.0
        self.behaviour: Callable[[dict[str, Any], int], Reply] = self.echo
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.bodies.append(body)
                    server.headers.append(dict(self.headers))
                    server.paths.append(self.path)
                    call = len(server.bodies)
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                try:
                    time.sleep(server.delay)
                    status, headers, payload = server.behaviour(body, call)
                finally:
                    with server.lock:
                        server.active -= 1
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and hung up (the timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @staticmethod
    def echo(body: dict[str, Any], call: int) -> Reply:
        texts = [part["text"] for part in body["messages"][-1]["content"] if part["type"] == "text"]
        answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "echo: " + " | ".join(texts)}}]}
        return 200, {}, answer

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server() -> Iterator[FakeServer]:
    fake = FakeServer()
    yield fake
    fake.close()


def _image():
    from PIL import Image

    image = Image.new("RGB", (5, 4), (10, 20, 30))
    image.putpixel((2, 1), (255, 0, 0))
    return image


def _client(server: FakeServer, **options: Any) -> openai_api.OpenAIChat:
    options = {"api_base": server.url, "backoff_base": 0.001, **options}
    return openai_api.load("test-model", **options)


def test_import_is_light() -> None:
    code = "import sys, vlmcult.models.openai_api; print('torch' in sys.modules, 'PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_request_body_and_answer(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
    client = _client(server)
    image = _image()
    request = Request(parts=["Where is this?", image, "Answer briefly."], system="You are an expert.", max_new_tokens=7)
    assert client.generate([request]) == ["echo: Where is this? | Answer briefly."]

    assert server.paths == ["/v1/chat/completions"]
    assert server.headers[0]["Authorization"] == "Bearer sk-test-123"
    body = server.bodies[0]
    assert body["model"] == "test-model"
    assert body["temperature"] == 0
    assert body["max_tokens"] == 7
    system, user = body["messages"]
    assert system == {"role": "system", "content": "You are an expert."}
    assert user["role"] == "user"
    assert [part["type"] for part in user["content"]] == ["text", "image_url", "text"]
    url = user["content"][1]["image_url"]["url"]
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    decoded = Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :])))
    assert decoded.format == "PNG" and decoded.size == (5, 4)
    assert list(decoded.convert("RGB").getdata()) == list(image.getdata())


def test_no_key_no_system(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    client = _client(server, api_base=server.url + "/")  # a trailing slash is fine
    assert client.generate([Request(parts=["hi"])]) == ["echo: hi"]
    assert "Authorization" not in server.headers[0]
    assert [m["role"] for m in server.bodies[0]["messages"]] == ["user"]
    assert server.paths == ["/v1/chat/completions"]
    assert client.id == f"openai:test-model@{server.url}"
    assert client.spec == "openai:test-model"


def test_explicit_key_wins(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    _client(server, api_key="explicit").generate([Request(parts=["hi"])])
    assert server.headers[0]["Authorization"] == "Bearer explicit"


def test_429_then_success_honours_retry_after(server: FakeServer) -> None:
    def behaviour(body: dict[str, Any], call: int) -> Reply:
        if call <= 2:
            return 429, {"Retry-After": "0"}, {"error": {"message": "Rate limit reached"}}
        return FakeServer.echo(body, call)

    server.behaviour = behaviour
    # a huge backoff base: only Retry-After: 0 keeps this test fast
    client = _client(server, max_retries=3, backoff_base=100.0)
    start = time.monotonic()
    assert client.generate([Request(parts=["again"])]) == ["echo: again"]
    assert time.monotonic() - start < 5
    assert len(server.bodies) == 3


def test_500_forever_ends_as_exception_in_its_slot(server: FakeServer) -> None:
    def behaviour(body: dict[str, Any], call: int) -> Reply:
        text = body["messages"][-1]["content"][0]["text"]
        if text == "bad":
            return 500, {}, {"error": {"message": "internal boom\nsecond line"}}
        return FakeServer.echo(body, call)

    server.behaviour = behaviour
    client = _client(server, max_retries=2)
    outputs = client.generate([Request(parts=["ok1"]), Request(parts=["bad"]), Request(parts=["ok2"])])
    assert outputs[0] == "echo: ok1" and outputs[2] == "echo: ok2"
    assert isinstance(outputs[1], openai_api.APIError)
    message = str(outputs[1])
    assert "HTTP 500: internal boom" in message and "gave up after 3 attempts" in message
    assert "\n" not in message
    assert sum(1 for body in server.bodies if body["messages"][-1]["content"][0]["text"] == "bad") == 3


def test_client_error_is_not_retried(server: FakeServer) -> None:
    server.behaviour = lambda body, call: (400, {}, {"error": {"message": "image too large"}})
    outputs = _client(server, max_retries=4).generate([Request(parts=["x"])])
    assert isinstance(outputs[0], openai_api.APIError)
    assert str(outputs[0]) == "openai:test-model: HTTP 400: image too large"
    assert len(server.bodies) == 1


def test_connection_refused_ends_as_exception() -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = openai_api.load("m", api_base=f"http://127.0.0.1:{port}/v1", max_retries=1, backoff_base=0.001)
    outputs = client.generate([Request(parts=["x"])])
    assert isinstance(outputs[0], openai_api.APIError)
    assert "cannot reach" in str(outputs[0]) and "gave up after 2 attempts" in str(outputs[0])


def test_timeout_is_retried_then_reported(server: FakeServer) -> None:
    server.delay = 0.5
    client = _client(server, timeout=0.1, max_retries=1)
    outputs = client.generate([Request(parts=["slow"])])
    assert isinstance(outputs[0], openai_api.APIError)
    assert "gave up after 2 attempts" in str(outputs[0])


def test_concurrency_is_bounded_and_order_kept(server: FakeServer) -> None:
    server.delay = 0.15  # long enough for the three workers to overlap even on a busy machine
    client = _client(server, concurrency=3)
    requests = [Request(parts=[f"q{i}"]) for i in range(7)]
    assert client.generate(requests) == [f"echo: q{i}" for i in range(7)]
    assert server.max_active == 3


def test_malformed_answer(server: FakeServer) -> None:
    server.behaviour = lambda body, call: (200, {}, {"unexpected": True})
    outputs = _client(server).generate([Request(parts=["x"])])
    assert isinstance(outputs[0], openai_api.APIError) and "not a chat-completions answer" in str(outputs[0])


def test_missing_or_bad_api_base() -> None:
    with pytest.raises(ConfigError, match="pass --api-base"):
        openai_api.load("gpt-4o")
    with pytest.raises(ConfigError, match="must be an http"):
        openai_api.load("gpt-4o", api_base="localhost:8000")


def test_retry_after_parsing() -> None:
    assert openai_api._retry_after_seconds("2.5") == 2.5
    assert openai_api._retry_after_seconds(None) is None
    assert openai_api._retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past
    assert openai_api._retry_after_seconds("soon") is None
