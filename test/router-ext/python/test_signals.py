"""Metrics parsing, confidence rules, continuation requests and error messages."""

import unittest

from hybrid_router.confidence import AnswerSignals, ConfidenceRules, low_confidence, mean_logprob
from hybrid_router.errors import adapter_refusal, budget_refusal, generic_message, BudgetState
from hybrid_router.metrics import parse_vllm_metrics
from hybrid_router.streams import CONTINUE_INSTRUCTION, continuation_messages

# Shape of vLLM v0.33.0's exposition (two data-parallel engines).
VLLM_TEXT = """# HELP vllm:num_requests_running Number of requests in model execution batches.
# TYPE vllm:num_requests_running gauge
vllm:num_requests_running{engine="0",model_name="m"} 3.0
vllm:num_requests_running{engine="1",model_name="m"} 2.0
# TYPE vllm:num_requests_waiting gauge
vllm:num_requests_waiting{engine="0",model_name="m"} 1.0
vllm:num_requests_waiting{engine="1",model_name="m"} 0.0
vllm:num_requests_waiting_by_reason{engine="0",model_name="m",reason="capacity"} 1.0
vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.5
vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.7
vllm:prompt_tokens_total{engine="0",model_name="m"} 100.0
vllm:generation_tokens_total{engine="0",model_name="m"} 50.0
vllm:iteration_tokens_total_count{engine="0",model_name="a model {with} braces"} 7.0
vllm:iteration_tokens_total_sum{engine="0",model_name="m"} 9999.0
"""

RULES = ConfidenceRules(min_mean_logprob=-1.0, on_length=True, on_empty=True, on_refusal=True, refusal_prefixes=("I'm sorry, but I can't",))


class Metrics(unittest.TestCase):
    def test_sums_replicas_and_averages_kv(self) -> None:
        s = parse_vllm_metrics(VLLM_TEXT)
        assert s is not None
        self.assertEqual((s.running, s.waiting), (5.0, 1.0))
        self.assertAlmostEqual(s.kv_usage, 0.6)
        self.assertEqual(s.progress, 157.0)

    def test_not_vllm(self) -> None:
        self.assertIsNone(parse_vllm_metrics("lorax_queue_size 3\n"))


class Confidence(unittest.TestCase):
    def signals(self, content: str = "fine", finish: str | None = "stop", lps: list[float] | None = None, tools: bool = False) -> AnswerSignals:
        return AnswerSignals(content=content, finish_reason=finish, has_tool_calls=tools, token_logprobs=lps)

    def test_each_signal(self) -> None:
        self.assertEqual(low_confidence(self.signals(finish="length"), RULES), "length")
        self.assertEqual(low_confidence(self.signals(content="  "), RULES), "empty")
        self.assertIsNone(low_confidence(self.signals(content="", tools=True), RULES))
        self.assertEqual(low_confidence(self.signals(content="I\u2019m sorry, but I can\u2019t do that"), RULES), "refusal")
        self.assertEqual(low_confidence(self.signals(lps=[-0.5, -3.0]), RULES), "logprob")
        self.assertIsNone(low_confidence(self.signals(lps=[-0.5, -0.7]), RULES))

    def test_a_prefix_is_not_empty_or_cut_short_until_the_stream_ends(self) -> None:
        self.assertIsNone(low_confidence(self.signals(content="", finish=None), RULES, finished=False))

    def test_minus_infinity_counts_at_a_floor(self) -> None:
        self.assertEqual(mean_logprob([float("-inf"), 0.0]), -50.0)


class Messages(unittest.TestCase):
    def test_prefill_providers_get_the_partial_answer_last(self) -> None:
        msgs = continuation_messages([{"role": "user", "content": "q"}], "part", assistant_prefill=True)
        self.assertEqual(msgs[-1], {"role": "assistant", "content": "part"})

    def test_others_are_asked_to_continue(self) -> None:
        msgs = continuation_messages([{"role": "user", "content": "q"}], "part", assistant_prefill=False)
        self.assertEqual([m["role"] for m in msgs], ["user", "assistant", "user"])
        self.assertEqual(msgs[-1]["content"], CONTINUE_INSTRUCTION)

    def test_client_errors_name_the_adapter_and_the_budget(self) -> None:
        down = adapter_refusal("support-bot", {"gpu-1": "down"}, "rid")
        self.assertEqual(down.status, 503)
        self.assertIn("'support-bot'", down.message)
        full = adapter_refusal("support-bot", {"gpu-1": "rate", "gpu-2": "down"}, "rid")
        self.assertEqual(full.status, 429)
        failed = adapter_refusal("support-bot", {"gpu-1": "failed", "gpu-2": "down"}, "rid")
        self.assertEqual(failed.status, 503)
        b = budget_refusal([BudgetState("anthropic", 5.01, 5.0)], "budget-override", "rid")
        self.assertEqual(b.status, 429)
        self.assertIn("anthropic ($5.01 of $5.00)", b.message)
        self.assertIn("budget-override", b.message)
        self.assertEqual(generic_message(502, "rid"), "The router could not get an answer from any tier. Request id: rid.")


if __name__ == "__main__":
    unittest.main()
