"""The LiteLLM callback (``handler.py`` creates it; see there how LiteLLM loads it).

One instance per worker process. It uses these documented ``CustomLogger`` hooks (litellm 1.108.7,
integrations/custom_logger.py; the router calls them in router.py):

- ``async_filter_deployments`` (router, after cooldown filtering, before the pre-call
  checks, tag and ``order`` filtering): live-load admission - at most one engine stays in
  the candidates, the one this request was admitted to; a saturated or out-of-rotation
  engine is dropped, so ``order`` picks the managed tier - and the frontier spend guard;
- ``async_pre_call_deployment_hook`` (just before the call): gives engine calls the
  first-token watchdog (``watchdog``), asks the engine for log-probabilities when
  escalation needs them;
- ``async_post_call_failure_deployment_hook`` / ``async_post_call_success_deployment_hook``
  / ``async_log_success_event``: ends admissions, takes failing engines out of rotation,
  adds frontier spend;
- ``async_post_call_success_hook`` (proxy): confidence-based escalation;
- ``async_post_call_streaming_iterator_hook`` (proxy): escalation of a held-back stream
  prefix, mid-stream failure (continuation or a generic error);
- ``async_post_call_response_headers_hook`` (proxy): ``x-hybrid-tier``, ``x-hybrid-model``,
  ``x-hybrid-deployment``, ``x-hybrid-request-id`` (and ``x-hybrid-escalated``);
- ``async_post_call_failure_hook`` (proxy): the adapter and budget refusals, generic errors.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import random
import sys
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import openai
from fastapi import HTTPException
from litellm.exceptions import APIConnectionError, Timeout
from litellm.integrations.custom_logger import CustomLogger
from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler
from litellm.router_strategy.tag_based_routing import get_tags_from_request_kwargs

from .confidence import AnswerSignals, ConfidenceRules, low_confidence
from .exporter import Exporter
from .errors import REQUEST_ID_HEADER, BudgetState, ClientError, adapter_refusal, budget_refusal, generic_message
from .poller import Poller
from .settings import DeploymentSettings, Settings, load_settings
from .state import Admission, SharedState
from .streams import continuation_messages
from .watchdog import EngineWatchdogTransport, health_fresh_s

log = logging.getLogger("hybrid_router")

TIER_HEADER = "x-hybrid-tier"
MODEL_HEADER = "x-hybrid-model"
DEPLOYMENT_HEADER = "x-hybrid-deployment"
ESCALATED_HEADER = "x-hybrid-escalated"

#: OpenAI chat parameters an escalation or continuation carries over from the request.
_FORWARDED = (
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "tools",
    "tool_choice",
    "response_format",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "user",
    "stream_options",
)


class RouterStreamError(Exception):
    """A stream that broke after its first byte, as the client sees it (an in-band error
    event, which the OpenAI SDKs raise as APIError)."""

    def __init__(self, message: str, status_code: int = 502) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.type = "server_error"


@dataclass
class _Call:
    """What this worker remembers about one client request while it is routed."""

    created: float
    reservation: str | None = None
    engine: str | None = None
    failed_engines: set[str] = field(default_factory=set)
    #: Model group -> engine -> why no engine of that group could take the request.
    refusals: dict[str, dict[str, str]] = field(default_factory=dict)
    budget_blocked: dict[str, BudgetState] = field(default_factory=dict)
    added_logprobs: bool = False
    #: (reason, deployment id that answered instead)
    escalated: tuple[str, str] | None = None


def _record(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _deployment_id_of(kwargs: Mapping[str, Any]) -> str | None:
    for holder in (kwargs, _record(kwargs.get("metadata")), _record(_record(kwargs.get("litellm_params")).get("metadata"))):
        model_info = _record(holder.get("model_info"))
        dep_id = model_info.get("id")
        if isinstance(dep_id, str):
            return dep_id
    return None


def _hidden_model_id(response: object) -> str | None:
    hidden = getattr(response, "_hidden_params", None)
    model_id = _record(hidden).get("model_id")
    return model_id if isinstance(model_id, str) else None


def _status_of(exc: BaseException) -> int:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and 400 <= status <= 599:
        return status
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code.isdigit() and 400 <= int(code) <= 599:
        return int(code)
    return 500


def _failure_kind(exc: BaseException) -> str | None:
    """How an engine call failed, for its health: None for the client's own mistakes."""
    if isinstance(exc, Timeout):
        return "timeout"
    if isinstance(exc, APIConnectionError):
        return "connect"
    status = _status_of(exc)
    if status in (408, 504):
        return "timeout"
    if status >= 500:
        return "error"
    return None


def _choice(response: object) -> object | None:
    choices = getattr(response, "choices", None)
    if isinstance(choices, list) and choices:
        first: object = choices[0]
        return first
    return None


def _field(value: object, name: str) -> object:
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)


def _token_logprobs(logprobs: object) -> list[float] | None:
    content = _field(logprobs, "content")
    if not isinstance(content, list):
        return None
    values: list[float] = []
    for token in content:
        lp = _field(token, "logprob")
        if isinstance(lp, (int, float)):
            values.append(float(lp))
    return values


def _answer_signals(response: object) -> AnswerSignals | None:
    choice = _choice(response)
    if choice is None:
        return None
    message = _field(choice, "message")
    content = _field(message, "content")
    finish = _field(choice, "finish_reason")
    return AnswerSignals(
        content=content if isinstance(content, str) else "",
        finish_reason=finish if isinstance(finish, str) else None,
        has_tool_calls=bool(_field(message, "tool_calls")),
        token_logprobs=_token_logprobs(_field(choice, "logprobs")),
    )


def _strip_logprobs(response: object) -> None:
    for choice in getattr(response, "choices", None) or []:
        if isinstance(choice, dict):
            choice["logprobs"] = None
        elif hasattr(choice, "logprobs"):
            try:
                choice.logprobs = None
            except (AttributeError, ValueError):
                pass


class HybridRouter(CustomLogger):
    def __init__(self, settings: Settings, state: SharedState, exporter: Exporter | None = None) -> None:
        super().__init__(turn_off_message_logging=True)
        self.settings = settings
        self.state = state
        self.exporter = exporter if exporter is not None else Exporter(False)
        self._calls: dict[str, _Call] = {}
        self._clients: dict[str, AsyncHTTPHandler] = {}
        self._failing: set[str] = set()
        self._poller = Poller(settings, state, on_round=self.refresh_spend)
        self._rules = ConfidenceRules(
            min_mean_logprob=settings.escalation.min_mean_logprob,
            on_length=settings.escalation.on_length,
            on_empty=settings.escalation.on_empty,
            on_refusal=settings.escalation.on_refusal,
            refusal_prefixes=settings.escalation.refusal_prefixes,
        )
        self.exporter.declare([e.name for e in settings.engines], self._frontier_providers())
        self._health_fresh_s = health_fresh_s(settings.live_load.poll_interval_s, settings.live_load.probe_timeout_s)
        self._last_sweep = time.monotonic()
        self._warmup: asyncio.Task[None] | None = None
        self._ensure_started()

    # ---- plumbing ---------------------------------------------------------------------

    def _ensure_started(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._poller.start()
        if self._warmup is None:
            self._warmup = loop.create_task(self._warm_tokenizers(), name="hybrid-router-warmup")

    async def _warm_tokenizers(self) -> None:
        """Loads, off the event loop, the tokenizer LiteLLM picks for each deployment's model.

        LiteLLM counts a request's tokens (pre-call context checks, stream usage) with a
        tokenizer chosen by model name and cached per process (litellm/utils.py
        _select_tokenizer_helper, an lru_cache); the first count for a model in a worker
        loads it, which took 1-2 s on a loaded 2-core host - paid by whatever request came
        first, such as the first one after an engine hangs. Doing it at start moves that
        cost out of the request path.
        """
        from litellm import token_counter
        from litellm.proxy.proxy_server import llm_router

        for _ in range(100):
            if llm_router is not None:
                break
            await asyncio.sleep(0.1)
            from litellm.proxy.proxy_server import llm_router
        if llm_router is None:
            return
        models = sorted({str(d["litellm_params"]["model"]) for d in llm_router.model_list})
        loop = asyncio.get_running_loop()
        for model in models:
            try:
                await loop.run_in_executor(None, functools.partial(token_counter, model=model, text="warm up"))
            except Exception:  # warming is best-effort
                pass

    def _frontier_providers(self) -> list[str]:
        return sorted({d.provider for d in self.settings.deployments.values() if d.tier == "frontier"})

    def refresh_spend(self) -> None:
        """Today's spend per frontier provider into its gauge: from the shared state, so a
        new UTC day reads 0 without a request (the poller's lease holder calls this each round)."""
        if self.exporter.active:
            for provider in self._frontier_providers():
                self.exporter.spend_today(provider, self.state.spend_today(provider))

    def _call(self, call_id: str) -> _Call:
        call = self._calls.get(call_id)
        if call is None:
            call = _Call(created=time.monotonic())
            self._calls[call_id] = call
        now = time.monotonic()
        if now - self._last_sweep > 30:
            self._last_sweep = now
            horizon = now - self.settings.live_load.confirmed_ttl_s
            for key in [k for k, c in self._calls.items() if c.created < horizon]:
                del self._calls[key]
        return call

    def _deployment(self, dep_id: str | None) -> DeploymentSettings | None:
        return self.settings.deployments.get(dep_id) if dep_id is not None else None

    def _client_for(self, engine: str) -> AsyncHTTPHandler:
        client = self._clients.get(engine)
        if client is None:
            timeouts = self.settings.engine_timeouts
            transport = EngineWatchdogTransport(
                engine,
                lambda: self._engine_alive(engine),
                first_token_s=timeouts.first_token_s,
                recheck_s=timeouts.recheck_s,
                connect_s=timeouts.connect_s,
                inner=AsyncHTTPHandler.create_async_transport(),
            )
            client = AsyncHTTPHandler(transport=transport)
            self._clients[engine] = client
        return client

    def _engine_alive(self, engine: str) -> bool:
        health = self.state.health(engine)
        return not health.down and self.state.now() - health.health_ok_at <= self._health_fresh_s

    def _release(self, call: _Call | None) -> None:
        if call is not None and call.reservation is not None:
            self.state.release(call.reservation)
            call.reservation = None

    def _over_budget(self, provider: str, tags: set[str]) -> BudgetState | None:
        budget = self.settings.budget.usd_per_day.get(provider)
        if budget is None or self.settings.budget.override_tag in tags:
            return None
        spent = self.state.spend_today(provider)
        return BudgetState(provider, spent, budget) if spent >= budget else None

    @staticmethod
    def _tags(request_kwargs: dict[str, Any]) -> set[str]:
        try:
            return {str(t) for t in get_tags_from_request_kwargs(request_kwargs, metadata_variable_name="metadata")}
        except Exception:
            return set()

    # ---- routing ----------------------------------------------------------------------

    async def async_filter_deployments(
        self,
        model: str,
        healthy_deployments: list[Any],
        messages: list[Any] | None,
        request_kwargs: dict[Any, Any] | None = None,
        parent_otel_span: Any | None = None,
    ) -> list[dict[Any, Any]]:
        self._ensure_started()
        call_id = (request_kwargs or {}).get("litellm_call_id")
        if request_kwargs is None or not isinstance(call_id, str):
            return healthy_deployments
        call = self._call(call_id)
        # A retry or fallback: the earlier admission is released with the next one.
        earlier, call.reservation = call.reservation, None
        tags = self._tags(request_kwargs)
        kept: list[dict[Any, Any]] = []
        by_engine: dict[str, list[dict[Any, Any]]] = {}
        hard_blocked = False
        for deployment in healthy_deployments:
            dep_id = _record(deployment.get("model_info")).get("id")
            s = self._deployment(dep_id if isinstance(dep_id, str) else None)
            if s is not None and s.tier == "engine" and s.engine is not None:
                by_engine.setdefault(s.engine, []).append(deployment)
                continue
            if s is not None and s.tier == "frontier":
                blocked = self._over_budget(s.provider, tags)
                if blocked is not None:
                    call.budget_blocked[s.provider] = blocked
                    tags_of = _record(deployment.get("litellm_params")).get("tags")
                    if isinstance(tags_of, list) and self.settings.hard_tag in tags_of:
                        hard_blocked = True
                    continue
            kept.append(deployment)
        group = self.settings.groups.get(model)
        hard = group is not None and group.kind == "served" and self.settings.hard_tag in tags
        candidates = [e for e in by_engine if e not in call.failed_engines]
        if not by_engine or hard or not candidates:
            if earlier is not None:
                self.state.release(earlier)
        if not by_engine:
            return kept
        if hard:
            # Tag routing sends it to the hard frontier deployment; hold no engine for it.
            # When that deployment is over budget the request is refused, not moved.
            return [] if hard_blocked else [d for ds in by_engine.values() for d in ds] + kept
        random.shuffle(candidates)  # equal loads: spread, rather than always the first host
        reasons: dict[str, str] = {e: "failed" for e in by_engine if e in call.failed_engines}
        if candidates:
            # Held until the call ends (released by the end-of-call hooks) or the request
            # ends; the long TTL only covers a worker that dies in between.
            result = self.state.reserve(
                candidates, self.settings.live_load, replacing=earlier, ttl_s=self.settings.live_load.confirmed_ttl_s
            )
            if isinstance(result, Admission):
                call.reservation, call.engine = result.reservation, result.engine
                return by_engine[result.engine] + kept
            reasons.update(result.reasons)
        call.refusals[model] = reasons
        # The request leaves the engines: one refusal per engine, with why.
        for engine, reason in reasons.items():
            self.exporter.engine_refused(engine, reason)
        return kept

    async def async_pre_call_deployment_hook(self, kwargs: dict[str, Any], call_type: Any) -> dict[str, Any] | None:
        s = self._deployment(_deployment_id_of(kwargs))
        call_id = kwargs.get("litellm_call_id")
        if s is None or s.tier != "engine" or s.engine is None:
            # The request went elsewhere after all (a context check or tag routing dropped
            # the engine it was admitted to): give the admission back now.
            self._release(self._calls.get(call_id) if isinstance(call_id, str) else None)
            return None
        call = self._call(call_id) if isinstance(call_id, str) else _Call(created=time.monotonic())
        if call.reservation is None or call.engine != s.engine:
            # Not admitted by the filter (or to another engine): still count the call.
            call.reservation = self.state.account(s.engine, self.settings.live_load.confirmed_ttl_s, replacing=call.reservation)
            call.engine = s.engine
        kwargs["client"] = self._client_for(s.engine)
        esc = self.settings.escalation
        wants_logprobs = (
            esc.enabled
            and esc.min_mean_logprob is not None
            and s.group in esc.groups
            and (not kwargs.get("stream") or esc.stream_prefix_tokens > 0)
        )
        if wants_logprobs and not kwargs.get("logprobs"):
            kwargs["logprobs"] = True
            call.added_logprobs = True
        return kwargs

    async def async_post_call_failure_deployment_hook(
        self, request_data: Any, exception: Exception, call_type: Any, fallback_depth: int | None = None
    ) -> None:
        data = _record(request_data)
        s = self._deployment(_deployment_id_of(data))
        if s is None or s.engine is None:
            return
        call_id = data.get("litellm_call_id")
        call = self._calls.get(call_id) if isinstance(call_id, str) else None
        self._release(call)
        kind = _failure_kind(exception)
        if kind is None:
            return
        if call is not None:
            call.failed_engines.add(s.engine)
        self._failing.add(s.engine)
        if self.state.record_request_failure(s.engine, kind, self.settings.engine_timeouts.fail_threshold):
            log.warning("hybrid_router: engine %s out of rotation (%s: %s)", s.engine, kind, type(exception).__name__)

    def _engine_call_ended(self, call_id: object, s: DeploymentSettings | None) -> None:
        if s is None or s.engine is None:
            return
        self._release(self._calls.get(call_id) if isinstance(call_id, str) else None)
        if s.engine in self._failing:
            self._failing.discard(s.engine)
            self.state.record_request_success(s.engine)

    async def async_post_call_success_deployment_hook(self, request_data: dict[str, Any], response: Any, call_type: Any) -> Any:
        self._engine_call_ended(request_data.get("litellm_call_id"), self._deployment(_deployment_id_of(request_data)))
        return None

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        data = _record(kwargs)
        s = self._deployment(_deployment_id_of(data))
        self._engine_call_ended(data.get("litellm_call_id"), s)
        if s is not None and s.tier == "frontier":
            cost = data.get("response_cost")
            if isinstance(cost, (int, float)) and cost > 0:
                self.state.add_spend(s.provider, float(cost))
                self.exporter.spend_today(s.provider, self.state.spend_today(s.provider))

    async def async_log_failure_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        call_id = _record(kwargs).get("litellm_call_id")
        self._release(self._calls.get(call_id) if isinstance(call_id, str) else None)

    # ---- escalation -------------------------------------------------------------------

    def _escalation_applies(self, s: DeploymentSettings | None) -> bool:
        esc = self.settings.escalation
        return esc.enabled and s is not None and s.tier == "engine" and s.group in esc.groups

    @staticmethod
    def _forwarded(data: Mapping[str, Any]) -> dict[str, Any]:
        return {k: data[k] for k in _FORWARDED if k in data and data[k] is not None}

    async def _ask_group(
        self, group: str, data: Mapping[str, Any], messages: list[Any], *, stream: bool, purpose: str
    ) -> Any:
        from litellm.proxy.proxy_server import llm_router

        if llm_router is None:
            raise RuntimeError("no router")
        tags = [t for t in self._tags(dict(data)) if t == self.settings.budget.override_tag]
        return await llm_router.acompletion(
            model=group,
            messages=messages,
            stream=stream,
            metadata={"tags": tags, "hybrid_purpose": purpose, "hybrid_parent_call": data.get("litellm_call_id")},
            **self._forwarded(data),
        )

    async def async_post_call_success_hook(self, data: dict[str, Any], user_api_key_dict: Any, response: Any) -> Any:
        call_id = data.get("litellm_call_id")
        call = self._calls.get(call_id) if isinstance(call_id, str) else None
        model_id = _hidden_model_id(response)
        s = self._deployment(model_id)
        replacement: Any = None
        if self._escalation_applies(s) and self.settings.escalation.target_group is not None:
            signals = _answer_signals(response)
            reason = low_confidence(signals, self._rules) if signals is not None else None
            if reason is not None:
                try:
                    replacement = await self._ask_group(
                        self.settings.escalation.target_group, data, list(data.get("messages") or []), stream=False, purpose="escalation"
                    )
                except Exception as e:  # the engine's answer is still an answer
                    log.warning("hybrid_router: escalation of %s (%s) failed: %s", call_id, reason, e)
                    replacement = None
                self.state.incr(f"escalation_{reason}" if replacement is not None else f"escalation_failed_{reason}")
                self.exporter.escalation(reason, escalated=replacement is not None)
                if replacement is not None and call is not None:
                    call.escalated = (reason, _hidden_model_id(replacement) or "")
        if call is not None and call.added_logprobs:
            _strip_logprobs(replacement if replacement is not None else response)
        return replacement

    # ---- streams ----------------------------------------------------------------------

    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict: Any, response: Any, request_data: dict[str, Any]
    ) -> AsyncGenerator[Any, None]:
        call_id = request_data.get("litellm_call_id")
        call = self._calls.get(call_id) if isinstance(call_id, str) else None
        strip = call is not None and call.added_logprobs
        sent: list[str] = []
        stream_id: str | None = None
        try:
            source: AsyncIterator[Any] = response.__aiter__()
            s = self._deployment(_hidden_model_id(response))
            prefix_tokens = self.settings.escalation.stream_prefix_tokens
            if self._escalation_applies(s) and prefix_tokens > 0 and self.settings.escalation.target_group is not None:
                held, finished, reason, broken = await self._judge_prefix(source, prefix_tokens)
                if reason is not None and broken is None:
                    replacement = await self._escalate_stream(request_data, reason, call)
                    if replacement is not None:
                        await _aclose(source)
                        async for chunk in replacement:
                            yield chunk
                        return
                for chunk in held:
                    stream_id = stream_id or getattr(chunk, "id", None)
                    sent.append(_delta_text(chunk))
                    if strip:
                        _strip_logprobs(chunk)
                    yield chunk
                if broken is not None:
                    raise broken
                if finished:
                    return
            async for chunk in source:
                stream_id = stream_id or getattr(chunk, "id", None)
                sent.append(_delta_text(chunk))
                if strip:
                    _strip_logprobs(chunk)
                yield chunk
        except Exception as e:
            partial = "".join(sent)
            failed = self._deployment(_hidden_model_id(response))
            log.warning(
                "hybrid_router: stream %s broke after %d characters on %s: %s: %s",
                call_id, len(partial), failed.model if failed else "?", type(e).__name__, str(e)[:2000],
            )
            if self.settings.mid_stream.mode == "continue" and partial and failed is not None:
                continuation = await self._continue_stream(request_data, partial, failed)
                if continuation is not None:
                    self.state.incr("stream_continued")
                    self.exporter.stream_break(continued=True)
                    async for chunk in continuation:
                        if stream_id is not None:
                            try:
                                chunk.id = stream_id
                            except (AttributeError, ValueError):
                                pass
                        yield chunk
                    return
            self.state.incr("stream_broken")
            self.exporter.stream_break(continued=False)
            raise RouterStreamError(generic_message(502, call_id if isinstance(call_id, str) else None)) from e
        finally:
            if call is not None:
                self._release(call)
                if isinstance(call_id, str):
                    self._calls.pop(call_id, None)

    async def _judge_prefix(
        self, source: AsyncIterator[Any], tokens: int
    ) -> tuple[list[Any], bool, str | None, Exception | None]:
        """Reads up to `tokens` content chunks: (chunks, stream ended, escalation reason,
        the error that broke the stream within them)."""
        held: list[Any] = []
        text: list[str] = []
        logprobs: list[float] = []
        finish: str | None = None
        counted = 0
        finished = False
        while counted < tokens:
            try:
                chunk = await source.__anext__()
            except StopAsyncIteration:
                finished = True
                break
            except Exception as e:  # the stream broke inside the prefix: no judgement
                return held, False, None, e
            held.append(chunk)
            piece = _delta_text(chunk)
            if piece:
                counted += 1
                text.append(piece)
            choice = _choice(chunk)
            lp = _token_logprobs(_field(choice, "logprobs")) if choice is not None else None
            if lp:
                logprobs.extend(lp)
            reason = _field(choice, "finish_reason") if choice is not None else None
            if isinstance(reason, str):
                finish = reason
        signals = AnswerSignals(content="".join(text), finish_reason=finish, has_tool_calls=False, token_logprobs=logprobs or None)
        return held, finished, low_confidence(signals, self._rules, finished=finished), None

    async def _escalate_stream(self, data: Mapping[str, Any], reason: str, call: _Call | None) -> AsyncIterator[Any] | None:
        target = self.settings.escalation.target_group
        if target is None:
            return None
        try:
            stream = await self._ask_group(target, data, list(data.get("messages") or []), stream=True, purpose="escalation")
        except Exception as e:
            log.warning("hybrid_router: escalation of a stream (%s) failed: %s", reason, e)
            self.state.incr(f"escalation_failed_{reason}")
            self.exporter.escalation(reason, escalated=False)
            return None
        self.state.incr(f"escalation_{reason}")
        self.exporter.escalation(reason, escalated=True)
        if call is not None:
            call.escalated = (reason, _hidden_model_id(stream) or "")
        it: AsyncIterator[Any] = stream.__aiter__()
        return it

    async def _continue_stream(self, data: Mapping[str, Any], partial: str, failed: DeploymentSettings) -> AsyncIterator[Any] | None:
        for group in failed.continue_with:
            settings = self.settings.groups[group]
            messages = continuation_messages(list(data.get("messages") or []), partial, assistant_prefill=settings.assistant_prefill)
            try:
                stream = await self._ask_group(group, data, messages, stream=True, purpose="continuation")
                source: AsyncIterator[Any] = stream.__aiter__()
                first = await source.__anext__()
            except Exception as e:
                log.warning("hybrid_router: continuation on %s failed: %s", group, e)
                continue
            return _prepend(first, source)
        return None

    # ---- what the client sees -----------------------------------------------------------

    async def async_post_call_response_headers_hook(
        self,
        data: dict[str, Any],
        user_api_key_dict: Any,
        response: Any,
        request_headers: dict[str, str] | None = None,
        litellm_call_info: dict[str, Any] | None = None,
    ) -> dict[str, str] | None:
        call_id = data.get("litellm_call_id")
        call = self._calls.get(call_id) if isinstance(call_id, str) else None
        headers: dict[str, str] = {}
        if isinstance(call_id, str):
            headers[REQUEST_ID_HEADER] = call_id
        if response is None:
            return headers
        model_id = _record(litellm_call_info).get("model_id") or _hidden_model_id(response)
        if call is not None and call.escalated is not None and call.escalated[1]:
            model_id = call.escalated[1]
            headers[ESCALATED_HEADER] = call.escalated[0]
            headers["x-litellm-model-id"] = model_id
        s = self._deployment(model_id if isinstance(model_id, str) else None)
        if s is not None and isinstance(model_id, str):
            headers[TIER_HEADER] = s.tier
            headers[MODEL_HEADER] = s.model
            headers[DEPLOYMENT_HEADER] = model_id
        if not data.get("stream") and isinstance(call_id, str):
            self._calls.pop(call_id, None)
        return headers

    async def async_post_call_failure_hook(
        self, request_data: dict[str, Any], original_exception: Exception, user_api_key_dict: Any, traceback_str: str | None = None
    ) -> HTTPException | None:
        if isinstance(original_exception, (HTTPException, RouterStreamError)):
            return None
        call_id = request_data.get("litellm_call_id")
        request_id = call_id if isinstance(call_id, str) else None
        call = self._calls.pop(call_id, None) if isinstance(call_id, str) else None
        if call is None and not isinstance(original_exception, openai.APIError):
            # Failed before routing (authentication, an unparsable body: LiteLLM calls this
            # hook from user_api_key_auth too, with a call id already set): its own answer
            # (401, 400) stands, and it names no upstream. Upstream errors are litellm's
            # exceptions, all openai.APIError.
            return None
        if call is not None:
            self._release(call)
        model = request_data.get("model")
        group = self.settings.groups.get(model) if isinstance(model, str) else None
        error: ClientError | None = None
        if call is not None and call.budget_blocked:
            error = budget_refusal(list(call.budget_blocked.values()), self.settings.budget.override_tag, request_id)
            self.exporter.budget_refused(sorted(call.budget_blocked))
        elif (
            call is not None
            and group is not None
            and group.kind == "adapter"
            and group.adapter_policy == "none"
            and isinstance(model, str)
            and model in call.refusals
        ):
            error = adapter_refusal(model, call.refusals[model], request_id)
        elif self.settings.hygiene.generic_errors:
            status = _status_of(original_exception)
            error = ClientError(status, generic_message(status, request_id))
        if error is None:
            return None
        log.warning(
            "hybrid_router: request %s failed (%d to the client; engines refused: %s): %s: %s",
            request_id,
            error.status,
            call.refusals if call is not None else {},
            type(original_exception).__name__,
            str(original_exception)[:4000],
        )
        headers = {"retry-after": str(error.retry_after)} if error.retry_after is not None else None
        return HTTPException(status_code=error.status, detail=error.message, headers=headers)


def _delta_text(chunk: object) -> str:
    choice = _choice(chunk)
    if choice is None:
        return ""
    content = _field(_field(choice, "delta"), "content")
    return content if isinstance(content, str) else ""


async def _prepend(first: Any, rest: AsyncIterator[Any]) -> AsyncIterator[Any]:
    yield first
    async for item in rest:
        yield item


async def _aclose(source: AsyncIterator[Any]) -> None:
    close = getattr(source, "aclose", None)
    if close is not None:
        try:
            await close()
        except Exception:
            pass


_HIDDEN_PATHS = frozenset({"/routes", "/openapi.json"})


class _HideRoutes:
    """ASGI wrapper answering 404 for the paths in `_HIDDEN_PATHS`."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and scope.get("path") in _HIDDEN_PATHS:
            body = b'{"detail":"Not Found"}'
            await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self._inner(scope, receive, send)


def _hide_routes() -> None:
    """/routes is on LiteLLM's hard-coded public route list (litellm 1.108.7,
    proxy/_types.py LiteLLMRoutes.public_routes) and has no switch; /openapi.json has one
    (NO_OPENAPI, proxy/utils.py get_openapi_url), which the container also sets. With the
    docs off, both answer 404. FastAPI 0.165 includes routers lazily, so the route cannot be
    taken out of the table; the app's middleware stack (built at start-up, before the
    config and so this package load) is wrapped instead. Not a LiteLLM extension point:
    tests/router-ext checks it against the pinned version."""
    from litellm.proxy.proxy_server import app

    inner = app.middleware_stack if app.middleware_stack is not None else app.build_middleware_stack()
    if not isinstance(inner, _HideRoutes):
        app.middleware_stack = _HideRoutes(inner)


def create() -> HybridRouter:
    """Reads the settings, opens the shared state and builds this worker's callback."""
    settings = load_settings()
    state = SharedState(settings.state_path, settings.engines, spend_path=settings.spend_path)
    if settings.hygiene.hide_routes:
        _hide_routes()
    router = HybridRouter(settings, state, Exporter(settings.metrics.enabled))
    router.refresh_spend()  # the spend survives a restart within the day (a volume): show it at once
    # One line per worker process: operators (and the tests) see every worker took it up.
    sys.stderr.write(f"hybrid_router: loaded in process {os.getpid()} ({len(settings.engines)} engines)\n")
    sys.stderr.flush()
    return router

