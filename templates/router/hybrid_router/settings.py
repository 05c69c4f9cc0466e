"""The extension's settings: one JSON file rendered by the planner.

The file is written by core/render/router-extension.ts (its ``RouterExtensionSettings``
type is the other half of this schema; ``SETTINGS_VERSION`` must match). It holds no
secret: the engine key is named by an environment variable (``engine_key_env``).

Where the file is: ``$HYBRID_ROUTER_SETTINGS`` if set, else ``hybrid-router.json`` beside
the package (the directory of the LiteLLM config, where the package is mounted).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

SETTINGS_VERSION = 1
SETTINGS_ENV = "HYBRID_ROUTER_SETTINGS"
SETTINGS_FILE_NAME = "hybrid-router.json"

Tier = Literal["engine", "managed", "frontier"]
GroupKind = Literal["served", "adapter", "managed", "frontier"]
AdapterPolicy = Literal["none", "base", "managed"]
EngineKind = Literal["vllm", "lorax"]
MidStreamMode = Literal["error", "continue"]


class SettingsError(ValueError):
    """The settings file does not match this package's schema (a version skew or a hand edit)."""


@dataclass(frozen=True)
class EngineSettings:
    """One engine (a host's vLLM or LoRAX server): one admission budget for all its deployments."""

    name: str
    kind: EngineKind
    health_url: str
    #: Prometheus endpoint with vLLM's scheduler gauges; None: no live signal (LoRAX), rate only.
    metrics_url: str | None
    #: OpenAI-compatible chat completions URL, for the recovery canary.
    completions_url: str
    #: Model the canary asks for (the served base model).
    canary_model: str
    #: The planner's request rate for the whole engine (all adapters, all router workers).
    planned_rpm: float
    #: Sequences the engine runs at once before requests queue (planned concurrency x replicas).
    max_running: int
    deployment_ids: tuple[str, ...]


@dataclass(frozen=True)
class DeploymentSettings:
    """What the router knows about one `model_list` entry, by its `model_info.id`."""

    tier: Tier
    #: Client-facing name of what answered: the served model or adapter for an engine, the
    #: provider's model id for an API tier. Sent as the `x-hybrid-model` header.
    model: str
    provider: str
    group: str
    #: The engine that serves it (engine tier only).
    engine: str | None
    #: Groups a stream that breaks on this deployment continues on, in order.
    continue_with: tuple[str, ...]


@dataclass(frozen=True)
class GroupSettings:
    kind: GroupKind
    #: For adapter groups: what happens when the adapter's engines cannot take a request.
    adapter_policy: AdapterPolicy | None
    #: Whether the group's provider continues a trailing assistant message (Anthropic
    #: does; OpenAI-compatible APIs start a new turn), for mid-stream continuation.
    assistant_prefill: bool


@dataclass(frozen=True)
class LiveLoadSettings:
    enabled: bool
    poll_interval_s: float
    probe_timeout_s: float
    #: A metrics snapshot older than this is not used for admission (the planned rate still is).
    stale_after_s: float
    #: An engine with more than this many requests waiting is saturated.
    max_waiting: int
    #: An engine whose KV cache is at least this full is saturated.
    kv_cache_limit: float
    #: How much of the planned rate may arrive at once (GCRA burst tolerance, seconds of rate).
    burst_s: float
    #: An admission the router did not go on to use is forgotten after this long.
    unconfirmed_ttl_s: float
    #: A used admission whose end was never reported (a crashed worker) is forgotten after this long.
    confirmed_ttl_s: float


@dataclass(frozen=True)
class EngineTimeoutSettings:
    #: Silence from an engine (no response head, or no stream chunk) after which the router
    #: checks that the engine is alive; a dead or unpolled engine's call is cut here.
    first_token_s: float
    connect_s: float
    #: While an engine call stays silent past first_token_s, liveness is rechecked this often.
    recheck_s: float
    #: An engine with requests running whose token counters have not moved for this long is stalled.
    stall_s: float
    #: Consecutive failed probes (or failed requests) that take an engine out of rotation.
    fail_threshold: int
    #: An engine out of rotation stays out at least this long, and until a canary completion passes.
    min_down_s: float


@dataclass(frozen=True)
class EscalationSettings:
    enabled: bool
    #: Group a low-confidence answer is re-asked of (the first frontier group).
    target_group: str | None
    #: Groups whose engine answers are judged (the served model; adapters are not escalated).
    groups: tuple[str, ...]
    #: Mean token log-probability below which an answer is low-confidence; None: not judged.
    min_mean_logprob: float | None
    on_length: bool
    on_empty: bool
    on_refusal: bool
    refusal_prefixes: tuple[str, ...]
    #: Streams: tokens held back and judged before the first byte; 0 = streams not escalated.
    stream_prefix_tokens: int


@dataclass(frozen=True)
class BudgetSettings:
    #: USD per UTC day per frontier provider; a provider not listed is not limited.
    usd_per_day: dict[str, float]
    #: A request tagged with this may exceed the budget.
    override_tag: str


@dataclass(frozen=True)
class MidStreamSettings:
    mode: MidStreamMode


@dataclass(frozen=True)
class HygieneSettings:
    #: Replace upstream error text with a generic message and a request id (detail in the log).
    generic_errors: bool
    #: Remove /routes and /openapi.json from the proxy (docs off).
    hide_routes: bool


@dataclass(frozen=True)
class MetricsSettings:
    #: The stack's monitoring is on (core/plan/monitoring.ts monitoringEnabled): export the
    #: extension's metrics (``exporter``) beside LiteLLM's.
    enabled: bool


@dataclass(frozen=True)
class Settings:
    version: int
    state_path: str
    #: Where the daily frontier spend is kept (a volume); None: in state_path.
    spend_path: str | None
    engine_key_env: str | None
    hard_tag: str
    engines: tuple[EngineSettings, ...]
    deployments: dict[str, DeploymentSettings]
    groups: dict[str, GroupSettings]
    live_load: LiveLoadSettings
    engine_timeouts: EngineTimeoutSettings
    escalation: EscalationSettings
    budget: BudgetSettings
    mid_stream: MidStreamSettings
    hygiene: HygieneSettings
    metrics: MetricsSettings

    def engine(self, name: str) -> EngineSettings | None:
        return next((e for e in self.engines if e.name == name), None)

    def engine_of(self, deployment_id: str) -> EngineSettings | None:
        deployment = self.deployments.get(deployment_id)
        if deployment is None or deployment.engine is None:
            return None
        return self.engine(deployment.engine)


class _Reader:
    """Typed access to a JSON object, with the path of every error."""

    def __init__(self, value: object, path: str) -> None:
        if not isinstance(value, dict):
            raise SettingsError(f"{path}: expected an object, got {type(value).__name__}")
        self._value = cast(dict[str, object], value)
        self._path = path

    def _get(self, key: str) -> object:
        if key not in self._value:
            raise SettingsError(f"{self._path}.{key}: missing")
        return self._value[key]

    def str_(self, key: str) -> str:
        v = self._get(key)
        if not isinstance(v, str) or v == "":
            raise SettingsError(f"{self._path}.{key}: expected a non-empty string")
        return v

    def opt_str(self, key: str) -> str | None:
        v = self._value.get(key)
        if v is None:
            return None
        if not isinstance(v, str) or v == "":
            raise SettingsError(f"{self._path}.{key}: expected a non-empty string or null")
        return v

    def num(self, key: str, minimum: float = 0.0) -> float:
        v = self._get(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v < minimum:
            raise SettingsError(f"{self._path}.{key}: expected a number >= {minimum}")
        return float(v)

    def opt_num(self, key: str) -> float | None:
        v = self._value.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise SettingsError(f"{self._path}.{key}: expected a number or null")
        return float(v)

    def int_(self, key: str, minimum: int = 0) -> int:
        v = self._get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise SettingsError(f"{self._path}.{key}: expected an integer >= {minimum}")
        return v

    def bool_(self, key: str) -> bool:
        v = self._get(key)
        if not isinstance(v, bool):
            raise SettingsError(f"{self._path}.{key}: expected true or false")
        return v

    def strs(self, key: str) -> tuple[str, ...]:
        v = self._get(key)
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise SettingsError(f"{self._path}.{key}: expected a list of strings")
        return tuple(cast(list[str], v))

    def obj(self, key: str) -> _Reader:
        return _Reader(self._get(key), f"{self._path}.{key}")

    def objs(self, key: str) -> list[_Reader]:
        v = self._get(key)
        if not isinstance(v, list):
            raise SettingsError(f"{self._path}.{key}: expected a list")
        return [_Reader(x, f"{self._path}.{key}[{i}]") for i, x in enumerate(cast(list[object], v))]

    def entries(self, key: str) -> list[tuple[str, _Reader]]:
        v = self._get(key)
        if not isinstance(v, dict):
            raise SettingsError(f"{self._path}.{key}: expected an object")
        return [(k, _Reader(x, f"{self._path}.{key}.{k}")) for k, x in cast(dict[str, object], v).items()]

    def num_map(self, key: str) -> dict[str, float]:
        v = self._get(key)
        if not isinstance(v, dict):
            raise SettingsError(f"{self._path}.{key}: expected an object")
        out: dict[str, float] = {}
        for k, x in cast(dict[str, object], v).items():
            if isinstance(x, bool) or not isinstance(x, (int, float)) or x < 0:
                raise SettingsError(f"{self._path}.{key}.{k}: expected a number >= 0")
            out[k] = float(x)
        return out

    def choice(self, key: str, allowed: tuple[str, ...]) -> str:
        v = self.str_(key)
        if v not in allowed:
            raise SettingsError(f"{self._path}.{key}: {v!r} is not one of {', '.join(allowed)}")
        return v

    def opt_choice(self, key: str, allowed: tuple[str, ...]) -> str | None:
        v = self.opt_str(key)
        if v is not None and v not in allowed:
            raise SettingsError(f"{self._path}.{key}: {v!r} is not one of {', '.join(allowed)}")
        return v


def parse_settings(raw: object) -> Settings:
    """Validates the settings document; raises SettingsError naming the first wrong field."""
    r = _Reader(raw, "settings")
    version = r.int_("version", 1)
    if version != SETTINGS_VERSION:
        raise SettingsError(
            f"settings.version: {version}, but this package reads version {SETTINGS_VERSION}; "
            "render the settings and the package from the same hybrid-inference version"
        )
    engines = tuple(
        EngineSettings(
            name=e.str_("name"),
            kind=cast(EngineKind, e.choice("kind", ("vllm", "lorax"))),
            health_url=e.str_("health_url"),
            metrics_url=e.opt_str("metrics_url"),
            completions_url=e.str_("completions_url"),
            canary_model=e.str_("canary_model"),
            planned_rpm=e.num("planned_rpm", 0.001),
            max_running=e.int_("max_running", 1),
            deployment_ids=e.strs("deployment_ids"),
        )
        for e in r.objs("engines")
    )
    deployments = {
        key: DeploymentSettings(
            tier=cast(Tier, d.choice("tier", ("engine", "managed", "frontier"))),
            model=d.str_("model"),
            provider=d.str_("provider"),
            group=d.str_("group"),
            engine=d.opt_str("engine"),
            continue_with=d.strs("continue_with"),
        )
        for key, d in r.entries("deployments")
    }
    groups = {
        key: GroupSettings(
            kind=cast(GroupKind, g.choice("kind", ("served", "adapter", "managed", "frontier"))),
            adapter_policy=cast("AdapterPolicy | None", g.opt_choice("adapter_policy", ("none", "base", "managed"))),
            assistant_prefill=g.bool_("assistant_prefill"),
        )
        for key, g in r.entries("groups")
    }
    names = [e.name for e in engines]
    for key, d in deployments.items():
        if d.engine is not None and d.engine not in names:
            raise SettingsError(f"settings.deployments.{key}.engine: no engine named {d.engine!r}")
        if d.group not in groups:
            raise SettingsError(f"settings.deployments.{key}.group: no group named {d.group!r}")
        for g in d.continue_with:
            if g not in groups:
                raise SettingsError(f"settings.deployments.{key}.continue_with: no group named {g!r}")
    for e in engines:
        for dep in e.deployment_ids:
            if dep not in deployments or deployments[dep].engine != e.name:
                raise SettingsError(f"settings.engines[{e.name}].deployment_ids: {dep!r} is not a deployment of this engine")

    ll = r.obj("live_load")
    et = r.obj("engine_timeouts")
    es = r.obj("escalation")
    bu = r.obj("budget")
    ms = r.obj("mid_stream")
    hy = r.obj("hygiene")
    escalation = EscalationSettings(
        enabled=es.bool_("enabled"),
        target_group=es.opt_str("target_group"),
        groups=es.strs("groups"),
        min_mean_logprob=es.opt_num("min_mean_logprob"),
        on_length=es.bool_("on_length"),
        on_empty=es.bool_("on_empty"),
        on_refusal=es.bool_("on_refusal"),
        refusal_prefixes=es.strs("refusal_prefixes"),
        stream_prefix_tokens=es.int_("stream_prefix_tokens"),
    )
    if escalation.enabled and (escalation.target_group is None or escalation.target_group not in groups):
        raise SettingsError("settings.escalation.target_group: escalation is enabled but names no known group")
    return Settings(
        version=version,
        state_path=r.str_("state_path"),
        spend_path=r.opt_str("spend_path"),
        engine_key_env=r.opt_str("engine_key_env"),
        hard_tag=r.str_("hard_tag"),
        engines=engines,
        deployments=deployments,
        groups=groups,
        live_load=LiveLoadSettings(
            enabled=ll.bool_("enabled"),
            poll_interval_s=ll.num("poll_interval_s", 0.05),
            probe_timeout_s=ll.num("probe_timeout_s", 0.05),
            stale_after_s=ll.num("stale_after_s", 0.1),
            max_waiting=ll.int_("max_waiting"),
            kv_cache_limit=ll.num("kv_cache_limit", 0.0),
            burst_s=ll.num("burst_s", 0.0),
            unconfirmed_ttl_s=ll.num("unconfirmed_ttl_s", 0.1),
            confirmed_ttl_s=ll.num("confirmed_ttl_s", 1.0),
        ),
        engine_timeouts=EngineTimeoutSettings(
            first_token_s=et.num("first_token_s", 0.1),
            connect_s=et.num("connect_s", 0.1),
            recheck_s=et.num("recheck_s", 0.1),
            stall_s=et.num("stall_s", 1.0),
            fail_threshold=et.int_("fail_threshold", 1),
            min_down_s=et.num("min_down_s", 0.0),
        ),
        escalation=escalation,
        budget=BudgetSettings(usd_per_day=bu.num_map("usd_per_day"), override_tag=bu.str_("override_tag")),
        mid_stream=MidStreamSettings(mode=cast(MidStreamMode, ms.choice("mode", ("error", "continue")))),
        hygiene=HygieneSettings(generic_errors=hy.bool_("generic_errors"), hide_routes=hy.bool_("hide_routes")),
        metrics=MetricsSettings(enabled=r.obj("metrics").bool_("enabled")),
    )


def settings_path() -> Path:
    configured = os.environ.get(SETTINGS_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent / SETTINGS_FILE_NAME


def load_settings(path: Path | None = None) -> Settings:
    target = path or settings_path()
    try:
        raw: object = json.loads(target.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise SettingsError(f"{target}: not found (set {SETTINGS_ENV} or mount {SETTINGS_FILE_NAME} beside the config)") from e
    except json.JSONDecodeError as e:
        raise SettingsError(f"{target}: not JSON: {e}") from e
    return parse_settings(raw)
