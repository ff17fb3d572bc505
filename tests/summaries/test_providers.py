"""
The OpenAI-compatible provider against a real HTTP server on loopback that
speaks the chat-completions protocol, through the official openai SDK.
"""
import time

import pytest

from summaries import providers
from summaries.material import Material
from summaries.prompt import build
from summaries.providers import OfflineProvider, OpenAICompatibleProvider, ProviderError, get_provider


def prompt():
    material = Material(lang="en", event={"title": "Final", "status": "live"}, now_ms=120_000, since_ms=0)
    return build(material, budget_tokens=2000, max_words=60)


def provider(server, **options):
    return OpenAICompatibleProvider(
        base_url=server.url, api_key="sk-test", model="qwen-plus", timeout=options.pop("timeout", 1.0), **options
    )


def test_it_returns_the_text_model_and_token_counts(chat_server):
    completion = provider(chat_server).complete(prompt())
    assert completion.text == "Italy lead France 2–1."
    assert completion.model == "qwen-plus"
    assert (completion.prompt_tokens, completion.completion_tokens) == (321, 45)


def test_it_sends_a_chat_completions_request_with_the_key_and_prompt(chat_server):
    p = prompt()
    provider(chat_server, max_tokens=123, extra_body={"enable_thinking": False}).complete(p)
    [request] = chat_server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == "Bearer sk-test"
    body = request["json"]
    assert body["model"] == "qwen-plus"
    assert body["messages"] == p.messages
    assert body["max_tokens"] == 123
    assert body["enable_thinking"] is False


def test_a_server_error_is_a_retryable_provider_error(chat_server):
    chat_server.script = ["error"]
    with pytest.raises(ProviderError) as excinfo:
        provider(chat_server).complete(prompt())
    assert (excinfo.value.kind, excinfo.value.status, excinfo.value.retryable) == ("status", 500, True)
    assert len(chat_server.requests) == 1  # the SDK's own retries are off: the task owns retries


def test_a_rejected_key_is_not_retried(chat_server):
    chat_server.script = ["unauthorised"]
    with pytest.raises(ProviderError) as excinfo:
        provider(chat_server).complete(prompt())
    assert (excinfo.value.status, excinfo.value.retryable) == (401, False)


def test_a_slow_server_times_out_at_the_timeout(chat_server):
    chat_server.script = ["slow"]
    chat_server.slow_seconds = 3
    started = time.monotonic()
    with pytest.raises(ProviderError) as excinfo:
        provider(chat_server, timeout=0.5).complete(prompt())
    assert excinfo.value.kind == "timeout" and excinfo.value.retryable
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("mode", ["garbage", "shape"])
def test_an_answer_that_is_not_a_chat_completion_is_a_provider_error(chat_server, mode):
    chat_server.script = [mode]
    with pytest.raises(ProviderError) as excinfo:
        provider(chat_server).complete(prompt())
    assert excinfo.value.kind == "bad_response" and excinfo.value.retryable


def test_an_empty_answer_is_a_provider_error(chat_server):
    chat_server.reply = "   "
    with pytest.raises(ProviderError) as excinfo:
        provider(chat_server).complete(prompt())
    assert excinfo.value.kind == "empty"


def test_a_reasoning_block_is_dropped(chat_server):
    chat_server.script = ["think"]
    assert provider(chat_server).complete(prompt()).text == "Italy lead France 2–1."


def test_an_unreachable_server_is_a_connection_error(chat_server):
    url = chat_server.url
    chat_server.__exit__(None, None, None)
    unreachable = OpenAICompatibleProvider(base_url=url, api_key="", model="m", timeout=1.0)
    with pytest.raises(ProviderError) as excinfo:
        unreachable.complete(prompt())
    assert excinfo.value.kind in {"connection", "timeout"} and excinfo.value.retryable


def test_settings_pick_the_provider(settings, chat_server):
    settings.LLM_BASE_URL = ""
    assert isinstance(get_provider(), OfflineProvider)
    settings.LLM_BASE_URL, settings.LLM_MODEL, settings.LLM_API_KEY = chat_server.url, "qwen-plus", "k"
    chosen = get_provider()
    assert isinstance(chosen, OpenAICompatibleProvider) and chosen.model == "qwen-plus"
    assert get_provider() is chosen  # one client (and connection pool) per configuration
    settings.LLM_MODEL = "qwen-max"
    assert get_provider() is not chosen and get_provider().breaker_key != chosen.breaker_key


def test_an_endpoint_without_a_model_is_a_configuration_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.LLM_BASE_URL, settings.LLM_MODEL = "http://127.0.0.1:9/v1", ""
    with pytest.raises(ImproperlyConfigured):
        get_provider()


def test_the_offline_provider_writes_from_the_material():
    completion = providers.OfflineProvider().complete(prompt())
    assert completion.text == "Final has been live for 2 minutes."
    assert completion.prompt_tokens is None
