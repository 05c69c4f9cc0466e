"""Mid-stream continuation: the request that asks the next tier to finish a broken answer.

When a stream breaks after text has reached the client, the client cannot be given a new
answer, only the rest of this one. The next tier is sent the conversation plus the text
already streamed as the assistant's turn:

- providers that continue a trailing assistant message (Anthropic's prefill) get just that;
- OpenAI-compatible APIs start a new turn after a trailing assistant message, so they also
  get a user turn asking to continue exactly where the text stops.

The continuation is a different model's (or the same open weights on another server's)
guess at the rest: the seam can show. That is why it is behind a setting (``mid_stream.mode``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

CONTINUE_INSTRUCTION = (
    "Your previous reply was cut off mid-way. Continue it exactly from where it stops: do not "
    "repeat any of it, do not add a preamble, and keep the same style."
)


def continuation_messages(
    messages: Sequence[Mapping[str, object]], partial: str, *, assistant_prefill: bool
) -> list[dict[str, object]]:
    out: list[dict[str, object]] = [dict(m) for m in messages]
    out.append({"role": "assistant", "content": partial})
    if not assistant_prefill:
        out.append({"role": "user", "content": CONTINUE_INSTRUCTION})
    return out
