"""Whether a self-hosted answer is confident enough to return, from signals the engine gives.

Signals (each switchable per stack, see ``EscalationSettings``):

- ``length``: the answer stopped at max_tokens (finish_reason ``length``): it is cut short;
- ``empty``: no text and no tool call;
- ``refusal``: the text starts with one of the stack's refusal prefixes (matched without
  case, curly apostrophes folded) - a self-hosted model refusing what a frontier model may
  answer;
- ``logprob``: the mean log-probability of the answer's tokens is below the threshold.
  vLLM returns token log-probabilities when the request asks for ``logprobs: true``; the
  router asks on the client's behalf when escalation is on, and removes them from the
  answer again unless the client asked too.

What this cannot judge: whether an answer is right. A fluent wrong answer has high
log-probabilities. The signals catch truncated, empty, refused and hesitant answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerSignals:
    content: str
    #: None while a stream has not finished.
    finish_reason: str | None
    has_tool_calls: bool
    #: Log-probabilities of the answer's tokens; None when the engine returned none.
    token_logprobs: Sequence[float] | None


@dataclass(frozen=True)
class ConfidenceRules:
    min_mean_logprob: float | None
    on_length: bool
    on_empty: bool
    on_refusal: bool
    refusal_prefixes: Sequence[str]


#: Every reason `low_confidence` gives (the escalation metric's `reason` label values).
ESCALATION_REASONS = ("length", "empty", "refusal", "logprob")


def _fold(text: str) -> str:
    return text.replace("\u2019", "'").replace("\u2018", "'").strip().lower()


def mean_logprob(values: Sequence[float]) -> float | None:
    finite = [v for v in values if v == v and v != float("-inf")]
    # A token the engine reports at -inf is as unlikely as it gets; count it at a floor
    # instead of letting one value make the mean -inf.
    floored = len(values) - len(finite)
    if not values:
        return None
    return (sum(finite) + floored * -100.0) / len(values)


def low_confidence(answer: AnswerSignals, rules: ConfidenceRules, *, finished: bool = True) -> str | None:
    """The reason to escalate `answer`, or None to return it.

    With `finished` False (a stream's held-back prefix), `empty` and `length` are only
    judged if the stream has in fact ended within the prefix.
    """
    if rules.on_length and answer.finish_reason == "length":
        return "length"
    if rules.on_empty and finished and not answer.has_tool_calls and answer.content.strip() == "":
        return "empty"
    if rules.on_refusal and answer.content:
        text = _fold(answer.content)
        if any(text.startswith(_fold(p)) for p in rules.refusal_prefixes if p.strip()):
            return "refusal"
    if rules.min_mean_logprob is not None and answer.token_logprobs:
        mean = mean_logprob(answer.token_logprobs)
        if mean is not None and mean < rules.min_mean_logprob:
            return "logprob"
    return None
