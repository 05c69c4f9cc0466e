"""hybrid-inference's router extension for the LiteLLM proxy.

LiteLLM does the proxying; this package adds what its config cannot express, through the
proxy's documented extension points (a ``CustomLogger`` listed under
``litellm_settings.callbacks``, loaded from the config's directory):

- live-load admission: one budget per engine (base model and all its adapters together),
  shared by every worker process of the router, judged by the engine's own ``/metrics``
  with the planned rate as the ceiling and the fallback (``admission``, ``state``, ``poller``);
- hung engines: a first-token limit on engine calls, health-gated removal from rotation
  (``watchdog``, ``poller``);
- adapter-aware fallback errors, the tier/model response headers, generic client errors
  (``handler``, ``errors``);
- confidence-based escalation to the frontier tier (``confidence``);
- a daily spend guard per frontier provider (``state``);
- mid-stream failure handling: a well-formed error, or continuation on the next tier
  (``streams``).

Settings come from one JSON file rendered by the planner (``settings``); it holds no
secret, only the names of environment variables that do.

Nothing here is imported by LiteLLM except ``hybrid_router.handler``; the other modules do
not import LiteLLM, so their logic is unit-tested without a proxy.
"""
