"""
Who writes the summary: one small interface, two implementations.

``OpenAICompatibleProvider`` speaks chat completions through the official
``openai`` SDK to any compatible endpoint (Qwen on DashScope's compatible
mode, vLLM, Ollama, llama.cpp's server). ``OfflineProvider`` writes from the
material with templates. ``get_provider`` picks one from settings: the
endpoint when LLM_BASE_URL is set, the offline writer otherwise.

Providers make exactly one attempt, bounded by a timeout; retries, backoff
and the circuit breaker belong to the caller (the task and the service).
"""
import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from . import offline
from .prompt import Prompt

# Reasoning models (Qwen3, DeepSeek-R1) may put their thinking first.
THINK_RE = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)


class ProviderError(Exception):
    """
    A provider that did not deliver a summary. ``kind`` is one of timeout,
    connection, status, bad_response, empty; ``retryable`` says whether asking
    again later may help (a 5xx or a timeout may; a 401 or a 404 will not).
    """

    def __init__(self, message: str, *, kind: str, retryable: bool = True, status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable
        self.status = status


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Provider:
    name = "provider"
    model = ""

    def complete(self, prompt: Prompt) -> Completion:
        raise NotImplementedError

    @property
    def breaker_key(self) -> str:
        """Providers that fail together share a breaker: one per endpoint and model."""
        return self.name


class OfflineProvider(Provider):
    name = "offline"
    model = "templates-1"

    def complete(self, prompt: Prompt) -> Completion:
        return Completion(text=offline.write(prompt.material), model=self.model)


class OpenAICompatibleProvider(Provider):
    name = "openai"

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        timeout: float,
        max_tokens: int = 400,
        temperature: float = 0.3,
        extra_body: dict | None = None,
    ):
        import openai

        self.base_url = base_url
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.extra_body = extra_body or None
        # Self-hosted servers (Ollama, llama.cpp) accept any key; the SDK insists on one.
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key or "none", timeout=timeout, max_retries=0)

    @property
    def breaker_key(self) -> str:
        return f"{self.name}:{hashlib.sha1(f'{self.base_url}|{self.model}'.encode()).hexdigest()[:16]}"

    def complete(self, prompt: Prompt) -> Completion:
        import openai

        try:
            response = self.client.chat.completions.create(
                model=self.model,
                messages=prompt.messages,
                max_tokens=self.max_tokens,
                temperature=self.temperature,
                extra_body=self.extra_body,
            )
        except openai.APITimeoutError as exc:
            raise ProviderError(f"no answer within the timeout: {exc}", kind="timeout") from exc
        except openai.APIConnectionError as exc:
            raise ProviderError(f"cannot reach the provider: {exc}", kind="connection") from exc
        except openai.APIStatusError as exc:
            code = exc.status_code
            retryable = code in (408, 409, 429) or code >= 500
            raise ProviderError(f"HTTP {code}: {exc.message}", kind="status", retryable=retryable, status=code) from exc
        except (openai.OpenAIError, ValueError, TypeError, KeyError, AttributeError) as exc:
            # A 200 whose body is not a chat completion (garbage, a proxy's page).
            raise ProviderError(f"unreadable answer: {exc!r}", kind="bad_response") from exc
        try:
            text = response.choices[0].message.content
        except (AttributeError, IndexError, TypeError) as exc:
            raise ProviderError("the answer has no message", kind="bad_response") from exc
        if not isinstance(text, str):
            raise ProviderError("the answer has no text", kind="bad_response")
        text = THINK_RE.sub("", text).strip()
        if not text:
            raise ProviderError("the answer is empty", kind="empty")
        usage = getattr(response, "usage", None)
        return Completion(
            text=text,
            model=getattr(response, "model", None) or self.model,
            prompt_tokens=getattr(usage, "prompt_tokens", None),
            completion_tokens=getattr(usage, "completion_tokens", None),
        )


def get_provider() -> Provider:
    """The provider the settings ask for (one shared instance per configuration)."""
    if not settings.LLM_BASE_URL:
        return _offline()
    if not settings.LLM_MODEL:
        raise ImproperlyConfigured("LLM_BASE_URL is set but LLM_MODEL is not (for example qwen-plus).")
    return _openai(
        settings.LLM_BASE_URL,
        settings.LLM_API_KEY,
        settings.LLM_MODEL,
        float(settings.LLM_TIMEOUT),
        settings.SUMMARY_MAX_TOKENS,
        float(settings.LLM_TEMPERATURE),
        json.dumps(settings.LLM_EXTRA_BODY or {}, sort_keys=True),
    )


@lru_cache(maxsize=1)
def _offline() -> OfflineProvider:
    return OfflineProvider()


@lru_cache(maxsize=8)
def _openai(base_url, api_key, model, timeout, max_tokens, temperature, extra_body) -> OpenAICompatibleProvider:
    # One client per configuration keeps its HTTP connection pool warm.
    return OpenAICompatibleProvider(
        base_url=base_url,
        api_key=api_key,
        model=model,
        timeout=timeout,
        max_tokens=max_tokens,
        temperature=temperature,
        extra_body=json.loads(extra_body),
    )
