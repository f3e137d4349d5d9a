"""Tests of the MoE decode roofline and of the report that uses it, without torch:
    python3 -m unittest discover -s bench -p '*_test.py'
References are independent of the code under test: a simulation of random routing, bytes
counted by hand for a tiny model, the published parameter counts of Qwen3-30B-A3B, and the
random checkpoint's own tensor list (tools/random_checkpoint_shapes.py, which counts by name)."""
import os
import random
import sys
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "tools"))
import moe_decode_report as report  # noqa: E402
import moe_roofline as roof  # noqa: E402
import random_checkpoint_shapes as shapes_of  # noqa: E402

QWEN3_30B_A3B = shapes_of.config_json("qwen3-30b-a3b", shapes_of.resolve("qwen3-30b-a3b", {}), 0.02)

# hidden 4, 2 layers (layer 0 dense), 2 q / 1 kv heads of dim 2, 4 experts of width 3, top-2,
# intermediate 5, vocab 10, untied.
TINY = {"model_type": "qwen3_moe", "hidden_size": 4, "num_hidden_layers": 2, "num_attention_heads": 2,
        "num_key_value_heads": 1, "head_dim": 2, "vocab_size": 10, "intermediate_size": 5,
        "num_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 3, "mlp_only_layers": [0],
        "tie_word_embeddings": False}


class DistinctExperts(unittest.TestCase):
    def test_matches_a_simulation_of_uniform_routing(self):
        rng = random.Random(7)
        for experts, k, tokens in ((128, 8, 1), (128, 8, 16), (128, 8, 64), (8, 2, 3)):
            trials = 4000
            seen = sum(len({e for _ in range(tokens) for e in rng.sample(range(experts), k)})
                       for _ in range(trials)) / trials
            self.assertAlmostEqual(roof.expected_distinct_experts(experts, k, tokens), seen,
                                   delta=0.01 * experts + 0.05, msg=(experts, k, tokens))

    def test_edges(self):
        self.assertEqual(roof.expected_distinct_experts(128, 8, 1), 8)
        self.assertEqual(roof.expected_distinct_experts(8, 8, 5), 8)
        self.assertEqual(roof.expected_distinct_experts(0, 0, 5), 0)


class StepBytes(unittest.TestCase):
    def test_tiny_model_counted_by_hand(self):
        shape = roof.MoeShape(TINY)
        self.assertEqual((shape.moe_layers, shape.dense_layers), (1, 1))
        parts = roof.step_bytes(shape, batch=3, context=7, distinct_experts=2)
        # attention per layer: q 4x4, k 2x4, v 2x4, o 4x4 = 48; norms 4+4 and q/k norms 2+2 = 12.
        self.assertEqual(parts["attention_and_norms"], 2 * (2 * 60 + 4))  # + the final norm
        self.assertEqual(parts["routers"], 2 * 4 * 4)
        self.assertEqual(parts["experts"], 2 * 2 * 3 * 4 * 3)
        self.assertEqual(parts["dense_mlps"], 2 * 3 * 4 * 5)
        self.assertEqual(parts["lm_head"], 2 * 10 * 4)
        self.assertEqual(parts["embedding_rows"], 2 * 3 * 4)
        self.assertEqual(parts["kv_cache"], 2 * 3 * 7 * 2 * 2 * 1 * 2)
        self.assertEqual(parts["total"], sum(v for k, v in parts.items() if k != "total"))

    def test_qwen3_30b_a3b_sizes(self):
        shape = roof.MoeShape(QWEN3_30B_A3B)
        plan_params = sum(shapes_of.numel(s) for _, s in
                          shapes_of.tensor_shapes("qwen3-30b-a3b", shapes_of.resolve("qwen3-30b-a3b", {})))
        self.assertEqual(shape.total_params(), plan_params)
        # Batch 1 with no KV reads the activated weights, bar the embedding table but one row:
        # 3.3B activated (model card) includes the whole table (0.31B).
        one = roof.step_bytes(shape, batch=1, context=0)
        self.assertAlmostEqual((one["total"] / 2 + 151936 * 2048) / 1e9, 3.3, delta=0.06)
        # Batch 64 reads nearly every expert: 128 * (1 - (120/128)^64) = 125.9 of 128.
        self.assertAlmostEqual(roof.step_bytes(shape, 64, 0)["experts"] / (2 * 48 * 128 * 3 * 2048 * 768),
                               125.9 / 128, places=3)

    def test_dense_config_has_no_expert_bytes(self):
        dense = dict(TINY)
        for key in ("num_experts", "num_experts_per_tok", "moe_intermediate_size", "mlp_only_layers"):
            dense.pop(key)
        parts = roof.step_bytes(roof.MoeShape(dense), batch=2, context=0)
        self.assertEqual((parts["experts"], parts["routers"]), (0, 0))
        self.assertEqual(parts["dense_mlps"], 2 * 2 * 3 * 4 * 5)

    def test_reads_either_experts_field_and_names_bad_fields(self):
        other = dict(TINY)
        other["num_local_experts"] = other.pop("num_experts")
        self.assertEqual(roof.MoeShape(other).experts, 4)
        for field, value in (("hidden_size", None), ("num_experts_per_tok", 9), ("head_dim", "2")):
            bad = dict(TINY)
            if value is None:
                bad.pop(field)
            else:
                bad[field] = value
            with self.assertRaises(roof.ConfigError) as e:
                roof.MoeShape(bad)
            self.assertIn(field, str(e.exception))

    def test_roofline_and_context(self):
        self.assertEqual(roof.roofline_tokens_per_second(3e12, 16, 6e9), 8000)
        # prompt 128, 3 warm-up steps, then 2 x 4 steps: KV lengths 132 ... 139.
        self.assertEqual(roof.mean_decode_context(128, 3, 2, 4), sum(range(132, 140)) / 8)


def engine(batches, rate, runs=3, steps=32, capped=False, distinct=None):
    rows = []
    for b in batches:
        row = {"batch": b, "prompt_tokens": 128, "decode_steps": steps, "decode_tokens_per_second": rate * b,
               "step_milliseconds": 1e3 / rate, "decode_steps_capped": capped}
        if distinct:
            row["distinct_experts_per_moe_layer"] = distinct[b]
        rows.append(row)
    return {"device": "GPU", "model": "/dev/shm/m", "copy_bandwidth_gb_per_second": 3000.0, "runs": runs,
            "decode": rows, "ttft_prompt_tokens": 1024, "ttft_seconds": 0.05}


class Report(unittest.TestCase):
    def test_fractions_ratios_and_targets(self):
        tessera = engine([1, 16, 64], rate=400)
        hf = engine([1, 16, 64], rate=100, steps=4, capped=True, distinct={1: 8, 16: 60, 64: 100})
        hf["ttft_seconds"] = 0.2
        out = report.combine(QWEN3_30B_A3B, tessera, hf, date="d")
        shape = roof.MoeShape(QWEN3_30B_A3B)
        rows = {r["batch"]: r for r in out["decode"]}
        b1 = roof.step_bytes(shape, 1, 128 + 3 + (3 * 32 - 1) / 2 + 1)["total"]
        self.assertAlmostEqual(rows[1]["roofline_tokens_per_second"], 3e12 / b1)
        self.assertAlmostEqual(rows[1]["roofline_fraction"], 400 * b1 / 3e12)
        self.assertAlmostEqual(rows[64]["tessera_over_hf"], 4.0)
        self.assertTrue(rows[64]["hf_decode_steps_capped"])
        b16_hf = roof.step_bytes(shape, 16, 128 + 3 + (3 * 32 - 1) / 2 + 1, 60)["total"]
        self.assertAlmostEqual(rows[16]["roofline_fraction_hf_routing"], 16 * 400 * b16_hf / (16 * 3e12))
        self.assertEqual(out["ttft"]["hf_over_tessera"], 4.0)
        self.assertEqual(out["targets"], {"batch1_at_least_0.7_of_roofline": 400 * b1 / 3e12 >= 0.7,
                                          "batch64_at_least_3x_hf": True})
        self.assertTrue(any("capped" in n for n in out["notes"]))

    def test_hf_alone_when_tessera_failed(self):
        out = report.combine(QWEN3_30B_A3B, None, engine([1, 64], rate=100), errors={"tessera": "exit 1"})
        self.assertEqual(out["copy_bandwidth_from"], "hf")
        self.assertEqual(out["targets"], {"batch1_at_least_0.7_of_roofline": None, "batch64_at_least_3x_hf": None})
        self.assertIn("roofline_tokens_per_second", out["decode"][0])
        self.assertIsNone(out["decode"][0]["tessera_over_hf"])
        with self.assertRaises(ValueError):
            report.combine(QWEN3_30B_A3B, None, None)


if __name__ == "__main__":
    unittest.main()
