"""`openai:<model>`: any OpenAI-compatible chat-completions server (OpenAI, vLLM, SGLang, llama.cpp, ...).

POST {api_base}/chat/completions with the system prompt and one user message whose content parts are the
request's text and images (base64 PNG data URLs) in order; temperature 0. Requests run on a bounded
thread pool; 429, 5xx, timeouts and connection errors are retried with exponential backoff (a server's
Retry-After wins). The standard library's urllib is used: httpx is not in the environment
(huggingface_hub 2.x depends on httpx2), and one POST with a timeout needs nothing more.
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import io
import json
import os
import random
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vlmcult.errors import ConfigError
from vlmcult.types import Request

MAX_BACKOFF_S = 60.0
# retried like openai-python's _should_retry: 408, 409, 429 and every 5xx
# (openai/openai-python src/openai/_base_client.py@000f030ac625401e5206af89bcdcbdabac4c995f)
RETRY_STATUSES = frozenset({408, 409, 429})


class APIError(RuntimeError):
    """One request failed for good (after retries, or with a non-retryable status)."""


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _first_line(text: str, limit: int = 300) -> str:
    lines = text.strip().splitlines()
    line = lines[0] if lines else ""
    return line if len(line) <= limit else line[:limit] + "..."


def _retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _error_message(body: bytes) -> str:
    """The server's error text: OpenAI puts it in {"error": {"message": ...}}."""
    text = body.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        return _first_line(text)
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict) and error.get("message"):
        return _first_line(str(error["message"]))
    if isinstance(error, str):
        return _first_line(error)
    return _first_line(text)


def image_data_url(image: Any) -> str:
    """A PIL image as a base64 PNG data URL."""
    if image.mode not in ("RGB", "RGBA", "L"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


class OpenAIChat:
    """Chat completions over HTTP. `generate(requests)` returns one text (or Exception) per request."""

    multiple_choice_only = False

    def __init__(
        self,
        model: str,
        api_base: str,
        api_key: str | None,
        concurrency: int = 8,
        timeout: float = 60.0,
        max_retries: int = 5,
        backoff_base: float = 1.0,
    ) -> None:
        self.model = model
        self.api_base = api_base.rstrip("/")
        self.url = f"{self.api_base}/chat/completions"
        self.spec = f"openai:{model}"
        self.id = f"openai:{model}@{self.api_base}"
        self._api_key = api_key
        self.concurrency = max(1, int(concurrency))
        self.timeout = float(timeout)
        self.max_retries = max(0, int(max_retries))
        self.backoff_base = float(backoff_base)

    def payload(self, request: Request) -> dict[str, Any]:
        """The JSON body for one request."""
        content: list[dict[str, Any]] = []
        for part in request.parts:
            if isinstance(part, str):
                content.append({"type": "text", "text": part})
            else:
                content.append({"type": "image_url", "image_url": {"url": image_data_url(part)}})
        messages: list[dict[str, Any]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": content})
        return {
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": int(request.max_new_tokens),
        }

    def _post_once(self, body: bytes) -> str:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        http_request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            message = f"HTTP {error.code}: {_error_message(error.read())}"
            if error.code in RETRY_STATUSES or error.code >= 500:
                raise _Retryable(message, _retry_after_seconds(error.headers.get("Retry-After"))) from None
            raise APIError(f"{self.spec}: {message}") from None
        except urllib.error.URLError as error:
            raise _Retryable(f"cannot reach {self.url}: {error.reason}") from None
        except TimeoutError:
            raise _Retryable(f"no answer from {self.url} within {self.timeout:g} s") from None
        except (OSError, http.client.HTTPException) as error:
            raise _Retryable(f"connection to {self.url} failed: {_first_line(str(error))}") from None
        return self._parse(raw)

    def _parse(self, raw: bytes) -> str:
        try:
            message = json.loads(raw)["choices"][0]["message"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise APIError(
                f"{self.spec}: not a chat-completions answer: {_first_line(raw.decode('utf-8', 'replace'))}"
            ) from None
        content = message.get("content") if isinstance(message, dict) else None
        if content is None:
            return ""
        if isinstance(content, list):  # some servers answer in content parts
            return "".join(part.get("text", "") for part in content if isinstance(part, dict))
        return str(content)

    def complete(self, request: Request) -> str | Exception:
        """One request with retries; the final failure is returned, not raised."""
        try:
            body = json.dumps(self.payload(request)).encode("utf-8")
        except Exception as error:  # noqa: BLE001 - e.g. an image that cannot be encoded
            return APIError(f"{self.spec}: cannot build the request: {_first_line(str(error))}")
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            try:
                return self._post_once(body)
            except APIError as error:
                return error
            except _Retryable as error:
                if attempt == attempts - 1:
                    return APIError(f"{self.spec}: {error} (gave up after {attempts} attempts)")
                if error.retry_after is not None:
                    delay = error.retry_after
                else:  # exponential backoff with jitter, so parallel workers do not retry in lockstep
                    delay = self.backoff_base * (2**attempt) * (0.5 + random.random() / 2)
                time.sleep(min(delay, MAX_BACKOFF_S))
        raise AssertionError("unreachable")

    def generate(self, requests: list[Request]) -> list[str | Exception]:
        """Answers in request order, at most `concurrency` requests in flight."""
        if not requests:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(requests))) as pool:
            return list(pool.map(self.complete, requests))


def load(
    rest: str,
    api_base: str | None = None,
    api_key: str | None = None,
    concurrency: int = 8,
    timeout: float = 60.0,
    max_retries: int = 5,
    backoff_base: float = 1.0,
    **_: Any,
) -> OpenAIChat:
    """`openai:<model>` against `api_base`; the key comes from `api_key` or OPENAI_API_KEY (optional locally)."""
    if not api_base:
        raise ConfigError(
            f"openai:{rest} needs the server's URL: pass --api-base (e.g. https://api.openai.com/v1 "
            "or http://localhost:8000/v1)"
        )
    if not api_base.startswith(("http://", "https://")):
        raise ConfigError(f"--api-base must be an http(s) URL, got {api_base!r}")
    if int(concurrency) < 1:
        raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
    key = api_key or os.environ.get("OPENAI_API_KEY") or None
    return OpenAIChat(rest, api_base, key, concurrency, timeout, max_retries, backoff_base)
