"""Tests of the random checkpoint's plan (shapes, configs, shards, reuse), without torch:
    python3 -m unittest discover -s tools -p '*_test.py'
Expected sizes are the published ones, not recomputed: Qwen3-30B-A3B's model card gives 30.5B
parameters, 3.3B activated, 29.9B non-embedding; Llama-3.1-8B has 8.03B."""
import json
import os
import struct
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_random_checkpoint as mrc  # noqa: E402
import random_checkpoint_shapes as shapes_of  # noqa: E402


def plan_for(*flags):
    return mrc.Plan(mrc.parse_args(["--out", "/nonexistent"] + list(flags)))


def params(tensors, keep=lambda name: True):
    return sum(shapes_of.numel(s) for n, s in tensors if keep(n))


class Qwen3MoeShape(unittest.TestCase):
    def setUp(self):
        self.plan = plan_for("--shape", "qwen3-30b-a3b")

    def test_sizes_match_the_published_model(self):
        total = params(self.plan.tensors)
        self.assertAlmostEqual(total / 1e9, 30.5, delta=0.05)
        embeddings = params(self.plan.tensors, lambda n: n in ("model.embed_tokens.weight", "lm_head.weight"))
        self.assertAlmostEqual((total - embeddings) / 1e9, 29.9, delta=0.05)
        # Activated: everything but the 120 experts of each layer a token does not select.
        unselected = params(self.plan.tensors, lambda n: ".mlp.experts." in n) * (128 - 8) / 128
        self.assertAlmostEqual((total - unselected) / 1e9, 3.3, delta=0.06)
        self.assertEqual(self.plan.total_bytes, 2 * total)

    def test_names_and_shapes_are_hf_qwen3_moe(self):
        found = dict(self.plan.tensors)
        self.assertEqual(found["model.layers.0.mlp.gate.weight"], (128, 2048))
        self.assertEqual(found["model.layers.47.mlp.experts.127.gate_proj.weight"], (768, 2048))
        self.assertEqual(found["model.layers.47.mlp.experts.127.up_proj.weight"], (768, 2048))
        self.assertEqual(found["model.layers.47.mlp.experts.127.down_proj.weight"], (2048, 768))
        self.assertEqual(found["model.layers.3.self_attn.q_proj.weight"], (4096, 2048))
        self.assertEqual(found["model.layers.3.self_attn.k_proj.weight"], (512, 2048))
        self.assertEqual(found["model.layers.3.self_attn.o_proj.weight"], (2048, 4096))
        self.assertEqual(found["model.layers.3.self_attn.q_norm.weight"], (128,))
        self.assertEqual(found["model.layers.3.self_attn.k_norm.weight"], (128,))
        self.assertEqual(found["lm_head.weight"], (151936, 2048))
        self.assertNotIn("model.layers.0.mlp.gate_proj.weight", found)  # no dense layer
        self.assertEqual(len(found), len(self.plan.tensors))  # no name twice

    def test_names_match_the_transformers_fixture(self):
        """Every tensor name of the qwen3_moe fixture (saved by transformers 5.17) has the form
        this plan writes, layer and expert numbers aside."""
        fixture = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "models",
                               "qwen3_moe", "model.safetensors")
        header, _ = mrc.safetensors_header(fixture)

        def form(name):
            return ".".join("N" if part.isdigit() else part for part in name.split("."))
        fixture_forms = {form(n) for n in header if ".mlp.gate_proj" not in n and ".mlp.up_proj" not in n
                         and ".mlp.down_proj" not in n}  # its layer 2 is dense (mlp_only_layers)
        self.assertEqual(fixture_forms, {form(n) for n, _ in self.plan.tensors})

    def test_config_hub_style(self):
        c = self.plan.config
        self.assertEqual(c["architectures"], ["Qwen3MoeForCausalLM"])
        self.assertEqual(c["model_type"], "qwen3_moe")
        expected = {"num_experts": 128, "num_experts_per_tok": 8, "moe_intermediate_size": 768,
                    "hidden_size": 2048, "num_hidden_layers": 48, "num_attention_heads": 32,
                    "num_key_value_heads": 4, "head_dim": 128, "intermediate_size": 6144,
                    "vocab_size": 151936, "rope_theta": 1000000.0, "norm_topk_prob": True,
                    "decoder_sparse_step": 1, "mlp_only_layers": [], "tie_word_embeddings": False,
                    "rms_norm_eps": 1e-6, "max_position_embeddings": 40960}
        self.assertEqual({k: c[k] for k in expected}, expected)
        self.assertNotIn("num_local_experts", c)

    def test_config_transformers5_style_matches_the_fixture_fields(self):
        c = plan_for("--shape", "qwen3-30b-a3b", "--config-style", "transformers5").config
        fixture = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "models",
                               "qwen3_moe", "config.json")
        with open(fixture) as f:
            fixture_keys = set(json.load(f))
        # transformers adds these when it saves; a hand-written config need not.
        self.assertEqual(set(c) - fixture_keys, set())
        self.assertEqual(fixture_keys - set(c), {"pad_token_id", "transformers_version"})
        self.assertEqual(c["num_local_experts"], 128)
        self.assertEqual(c["rope_parameters"], {"rope_theta": 1000000.0, "rope_type": "default"})

    def test_layers_flag_shrinks_it(self):
        small = plan_for("--shape", "qwen3-30b-a3b", "--layers", "2")
        self.assertEqual(small.config["num_hidden_layers"], 2)
        self.assertFalse(any(n.startswith("model.layers.2.") for n, _ in small.tensors))
        per_layer = (self.plan.total_bytes - small.total_bytes) / 46
        self.assertAlmostEqual(small.total_bytes, self.plan.total_bytes - 46 * per_layer)

    def test_dense_layers_where_asked(self):
        p = plan_for("--shape", "qwen3-30b-a3b", "--layers", "4", "--mlp-only-layers", "1",
                     "--decoder-sparse-step", "2")
        names = {n for n, _ in p.tensors}
        # layer 1: listed; layers 0 and 2: off the step ((i + 1) % 2 != 0); layer 3: sparse.
        for dense in (0, 1, 2):
            self.assertIn(f"model.layers.{dense}.mlp.gate_proj.weight", names)
            self.assertNotIn(f"model.layers.{dense}.mlp.gate.weight", names)
        self.assertIn("model.layers.3.mlp.gate.weight", names)


class LlamaShapeUnchanged(unittest.TestCase):
    def test_default_is_llama_3_1_8b(self):
        plan = plan_for()
        self.assertAlmostEqual(params(plan.tensors) / 1e9, 8.03, delta=0.005)
        c = plan.config
        self.assertEqual(c["architectures"], ["LlamaForCausalLM"])
        self.assertEqual((c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"],
                          c["num_key_value_heads"], c["intermediate_size"], c["vocab_size"], c["head_dim"]),
                         (4096, 32, 32, 8, 14336, 128256, 128))
        self.assertEqual(c["rope_scaling"]["rope_type"], "llama3")
        self.assertEqual(len(plan.shards), 4)

    def test_old_flags_still_apply(self):
        plan = plan_for("--layers", "2", "--hidden", "512", "--heads", "8", "--kv-heads", "2")
        self.assertEqual(plan.config["head_dim"], 64)
        self.assertEqual(dict(plan.tensors)["model.layers.1.self_attn.k_proj.weight"], (128, 512))


class Refusals(unittest.TestCase):
    def refused(self, *flags, mentions):
        with self.assertRaises(SystemExit), open(os.devnull, "w") as null:
            stderr, sys.stderr = sys.stderr, null
            try:
                mrc.parse_args(["--out", "x"] + list(flags))
            finally:
                sys.stderr = stderr
        with self.assertRaises(shapes_of.ShapeError) as e:
            shape = flags[flags.index("--shape") + 1] if "--shape" in flags else "llama3-8b"
            overrides = {}
            for flag, value in zip(flags[::2], flags[1::2]):
                if flag != "--shape":
                    key = flag[2:].replace("-", "_")
                    overrides[key] = mrc.int_list(value) if key == "mlp_only_layers" else int(value)
            shapes_of.resolve(shape, overrides)
        self.assertIn(mentions, str(e.exception))

    def test_each_bad_dimension_names_its_flag(self):
        self.refused("--experts", "8", mentions="--experts")
        self.refused("--shape", "qwen3-30b-a3b", "--experts-per-token", "129", mentions="--experts-per-token")
        self.refused("--heads", "32", "--kv-heads", "5", mentions="--kv-heads")
        self.refused("--hidden", "100", "--heads", "32", mentions="--hidden")
        self.refused("--shape", "qwen3-30b-a3b", "--layers", "0", mentions="--layers")
        self.refused("--shape", "qwen3-30b-a3b", "--head-dim", "3", mentions="--head-dim")
        self.refused("--shape", "qwen3-30b-a3b", "--layers", "2", "--mlp-only-layers", "2",
                     mentions="--mlp-only-layers")


class Shards(unittest.TestCase):
    def test_shards_keep_order_and_size(self):
        plan = plan_for("--shape", "qwen3-30b-a3b")
        self.assertEqual([t for shard in plan.shards for t in shard], plan.tensors)
        for shard in plan.shards:
            size = sum(2 * shapes_of.numel(s) for _, s in shard)
            self.assertTrue(size <= 5e9 or len(shard) == 1)
        self.assertEqual(len(plan.shards), 13)


def write_safetensors(path, tensors, truncate=0):
    """A .safetensors file by the format's definition: u64 header length, JSON header, data (zeros,
    left sparse: the file is extended, not written)."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in tensors:
        n = 2 * shapes_of.numel(shape)
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    blob = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)) + blob)
        f.truncate(8 + len(blob) + offset - truncate)


class Reuse(unittest.TestCase):
    FLAGS = ["--shape", "qwen3-30b-a3b", "--layers", "2", "--hidden", "64", "--heads", "4",
             "--kv-heads", "2", "--head-dim", "16", "--experts", "4", "--experts-per-token", "2",
             "--moe-intermediate", "32", "--vocab", "100", "--shard-gb", "0.00005"]

    def write(self, out, truncate_last=0):
        plan = mrc.Plan(mrc.parse_args(["--out", out] + self.FLAGS))
        for i, shard in enumerate(plan.shards, 1):
            last = i == len(plan.shards)
            write_safetensors(os.path.join(out, plan.file_name(i)), shard, truncate_last if last else 0)
        mrc.write_json(os.path.join(out, "config.json"), plan.config)
        mrc.write_json(os.path.join(out, "model.safetensors.index.json"),
                       {"metadata": plan.index_metadata, "weight_map": {}})
        return plan

    def test_complete_folder_is_reused_and_damaged_ones_are_not(self):
        with tempfile.TemporaryDirectory() as out:
            plan = self.write(out)
            self.assertGreater(len(plan.shards), 1)
            self.assertIsNone(mrc.existing_checkpoint_problem(out, plan))
            other = mrc.Plan(mrc.parse_args(["--out", out] + self.FLAGS + ["--experts-per-token", "3"]))
            self.assertIn("config.json", mrc.existing_checkpoint_problem(out, other))
            reseeded = mrc.Plan(mrc.parse_args(["--out", out] + self.FLAGS + ["--seed", "1"]))
            self.assertIn("metadata", mrc.existing_checkpoint_problem(out, reseeded))
            fewer = mrc.Plan(mrc.parse_args(["--out", out] + self.FLAGS + ["--layers", "1"]))
            self.assertIsNotNone(mrc.existing_checkpoint_problem(out, fewer))
        with tempfile.TemporaryDirectory() as out:
            plan = self.write(out, truncate_last=2)
            self.assertIn("bytes, not", mrc.existing_checkpoint_problem(out, plan))
        with tempfile.TemporaryDirectory() as out:
            plan = self.write(out)
            os.remove(os.path.join(out, "model.safetensors.index.json"))
            self.assertIn("index", mrc.existing_checkpoint_problem(out, plan))

    def test_reuse_writes_nothing_and_needs_no_torch(self):
        with tempfile.TemporaryDirectory() as out:
            self.write(out)
            before = {n: os.path.getmtime(os.path.join(out, n)) for n in os.listdir(out)}
            with open(os.devnull, "w") as null:
                stderr, sys.stderr = sys.stderr, null
                try:
                    mrc.main(["--out", out, "--reuse"] + self.FLAGS)
                finally:
                    sys.stderr = stderr
            self.assertEqual(before, {n: os.path.getmtime(os.path.join(out, n)) for n in os.listdir(out)})


if __name__ == "__main__":
    unittest.main()
