"""bench/moe_decode.sh end to end without a GPU: a complete small checkpoint written by hand is
reused (not regenerated), a stand-in gpu_decode prints fixed figures, and the report must carry
them; a failing gpu_decode is reported as an error, not a crash.
    python3 -m unittest discover -s bench -p '*_test.py'"""
import json
import os
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tools"))
import make_random_checkpoint as mrc  # noqa: E402
from random_checkpoint_shapes_test import write_safetensors  # noqa: E402

SCRIPT = os.path.join(here, "moe_decode.sh")
TESSERA_JSON = {"device": "stand-in", "model": "m", "copy_bandwidth_gb_per_second": 3000.0, "runs": 3,
                "ttft_prompt_tokens": 1024, "ttft_seconds": 0.05,
                "decode": [{"batch": b, "prompt_tokens": 128, "decode_steps": 32,
                            "decode_tokens_per_second": 100.0 * b, "step_milliseconds": 10.0}
                           for b in (1, 16, 64)]}


def write_checkpoint(folder, layers):
    plan = mrc.Plan(mrc.parse_args(["--out", folder, "--shape", "qwen3-30b-a3b", "--layers", str(layers)]))
    os.makedirs(folder)
    for i, shard in enumerate(plan.shards, 1):
        write_safetensors(os.path.join(folder, plan.file_name(i)), shard)
    mrc.write_json(os.path.join(folder, "config.json"), plan.config)
    mrc.write_json(os.path.join(folder, "model.safetensors.index.json"),
                   {"metadata": plan.index_metadata, "weight_map": {}})


def stand_in(folder, body):
    path = os.path.join(folder, "gpu_decode")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body)
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
    return path


class MoeDecodeScript(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.model = os.path.join(cls.tmp.name, "model")
        write_checkpoint(cls.model, layers=1)  # 2.5 GB of zeros, left sparse

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_script(self, gpu_decode, out):
        mtimes = {n: os.path.getmtime(os.path.join(self.model, n)) for n in os.listdir(self.model)}
        result = subprocess.run(["bash", SCRIPT, out, "--layers", "1", "--model-dir", self.model, "--skip-hf",
                                 "--", "--runs", "3"], env=dict(os.environ, GPU_DECODE=gpu_decode),
                                capture_output=True, text=True, timeout=120)
        self.assertEqual(mtimes, {n: os.path.getmtime(os.path.join(self.model, n)) for n in os.listdir(self.model)},
                         "the complete checkpoint was rewritten")
        return result

    def test_report_from_a_working_engine(self):
        out = os.path.join(self.tmp.name, "ok")
        fake = stand_in(self.tmp.name, f"cat <<'EOF'\n{json.dumps(TESSERA_JSON)}\nEOF\n")
        result = self.run_script(fake, out)
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(os.path.join(out, "moe_decode.json")) as f:
            report = json.load(f)
        self.assertEqual([r["tessera_tokens_per_second"] for r in report["decode"]], [100.0, 1600.0, 6400.0])
        self.assertEqual(report["shape"]["layers"], 1)
        self.assertEqual(report["errors"], {})
        self.assertGreater(report["decode"][0]["roofline_fraction"], 0)

    def test_failing_engine_is_recorded(self):
        out = os.path.join(self.tmp.name, "failing")
        fake = stand_in(self.tmp.name, textwrap.dedent("""\
            echo "gpu_decode: unsupported architecture Qwen3MoeForCausalLM" >&2
            exit 1
            """))
        result = self.run_script(fake, out)
        # Neither engine left a result: no report can be made, and the script says why.
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("unsupported architecture", result.stderr)
        self.assertIn("tessera failed (exit 1)", result.stderr)


if __name__ == "__main__":
    unittest.main()
