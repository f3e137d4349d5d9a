"""The bytes one decode step of a Mixture-of-Experts model must read, and the tokens/s that bounds.

A decode step of B sequences reads every weight it uses once, whatever B (the products of a
step share each weight across its rows), so the question is which weights a step uses:
  - attention (q, k, v, o and their norms) of every layer, the layer norms, the final norm;
  - the router of every MoE layer, and the weights of each expert that at least one of the
    step's B tokens selects, once per distinct expert;
  - the dense MLP of any dense layer (`mlp_only_layers`, `decoder_sparse_step`);
  - the LM head; of the embedding table, one row per token;
  - the KV cache: every sequence's keys and values of every layer so far.
Activations and the one new KV position a step writes are left out (kilobytes to a few MB).

The distinct-expert count is what tessera's backend would have to report to know it; it does
not, so it is estimated: if each token's top-k were a uniformly random k-subset of E experts,
chosen independently of the other tokens, a given expert is missed by one token with
probability C(E-1, k) / C(E, k) = 1 - k/E, and by all B with (1 - k/E)^B, so the expected count
of distinct experts is exactly
    E * (1 - (1 - k/E)^B).
Real routers are skewed and tokens of one batch correlated, so fewer distinct experts are read
than this says, and the roofline it gives is a lower bound on what the hardware allows: a
fraction of it above 1 is possible. bench/hf_decode.py --count-experts measures the count on HF's
own run over the same weights, which bench/moe_decode_report.py reports beside this estimate.

Config fields are read as HF names them (num_experts or num_local_experts; dense models have
neither, so this is the roofline of bench/gpu_decode.cpp for them, KV included).
"""

BF16 = 2


class ConfigError(ValueError):
    """A config.json field missing or of the wrong kind; the message names it."""


def _field(config, *names, default=None):
    for name in names:
        if name in config and config[name] is not None:
            return config[name]
    if default is not None:
        return default
    raise ConfigError(f"config.json: field {' or '.join(names)} missing")


def _positive_int(config, *names, default=None):
    value = _field(config, *names, default=default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"config.json: {names[0]} must be a positive integer, got {value!r}")
    return value


class MoeShape:
    """The dimensions of config.json that the bytes of a step depend on."""

    def __init__(self, config):
        self.hidden = _positive_int(config, "hidden_size")
        self.layers = _positive_int(config, "num_hidden_layers")
        self.heads = _positive_int(config, "num_attention_heads")
        self.kv_heads = _positive_int(config, "num_key_value_heads", default=self.heads)
        self.head_dim = _positive_int(config, "head_dim", default=self.hidden // self.heads)
        self.vocab = _positive_int(config, "vocab_size")
        self.intermediate = _positive_int(config, "intermediate_size")
        self.tied = bool(config.get("tie_word_embeddings", False))
        self.qk_norm = config.get("model_type") in ("qwen3", "qwen3_moe")
        experts = config.get("num_experts", config.get("num_local_experts"))
        if experts in (None, 0):
            self.experts, self.top_k, self.expert_intermediate = 0, 0, 0
        else:
            self.experts = _positive_int(config, "num_experts", "num_local_experts")
            self.top_k = _positive_int(config, "num_experts_per_tok")
            self.expert_intermediate = _positive_int(config, "moe_intermediate_size")
            if self.top_k > self.experts:
                raise ConfigError(f"config.json: num_experts_per_tok {self.top_k} exceeds the "
                                  f"{self.experts} experts")
        dense = set(config.get("mlp_only_layers") or [])
        step = _positive_int(config, "decoder_sparse_step", default=1)
        self.moe_layers = sum(1 for i in range(self.layers)
                              if self.experts and i not in dense and (i + 1) % step == 0)
        self.dense_layers = self.layers - self.moe_layers

    def attention_params(self):
        q = self.heads * self.head_dim
        kv = self.kv_heads * self.head_dim
        norms = 2 * self.hidden + (2 * self.head_dim if self.qk_norm else 0)
        return self.hidden * (q + 2 * kv) + q * self.hidden + norms

    def expert_params(self):
        return 3 * self.hidden * self.expert_intermediate

    def total_params(self):
        """Every weight of the checkpoint (what a dense roofline would count)."""
        lm_head = 0 if self.tied else self.vocab * self.hidden
        return (self.layers * self.attention_params()
                + self.moe_layers * (self.experts * self.hidden + self.experts * self.expert_params())
                + self.dense_layers * 3 * self.hidden * self.intermediate
                + self.vocab * self.hidden + lm_head + self.hidden)


def expected_distinct_experts(experts, top_k, tokens):
    """E * (1 - (1 - k/E)^B): the distinct experts B independent uniformly routed tokens select."""
    if experts == 0:
        return 0.0
    return experts * (1.0 - (1.0 - top_k / experts) ** tokens)


def step_bytes(shape, batch, context, distinct_experts=None):
    """Bytes (bf16) one decode step of `batch` sequences reads, each with `context` positions
    in its KV cache, broken down by what reads them. `distinct_experts`: per MoE layer; the
    uniform-routing estimate when None."""
    if distinct_experts is None:
        distinct_experts = expected_distinct_experts(shape.experts, shape.top_k, batch)
    parts = {
        "attention_and_norms": shape.layers * shape.attention_params() + shape.hidden,
        "routers": shape.moe_layers * shape.experts * shape.hidden,
        "experts": shape.moe_layers * distinct_experts * shape.expert_params(),
        "dense_mlps": shape.dense_layers * 3 * shape.hidden * shape.intermediate,
        # A tied head is the embedding table itself, read whole by the head.
        "lm_head": shape.vocab * shape.hidden,
        "embedding_rows": 0 if shape.tied else batch * shape.hidden,
        "kv_cache": batch * context * shape.layers * 2 * shape.kv_heads * shape.head_dim,
    }
    out = {k: BF16 * v for k, v in parts.items()}
    out["total"] = sum(out.values())
    return out


def roofline_tokens_per_second(bandwidth_bytes_per_second, batch, bytes_per_step):
    """At most one step per bytes_per_step / bandwidth seconds, `batch` tokens a step."""
    return batch * bandwidth_bytes_per_second / bytes_per_step


def mean_decode_context(prompt_tokens, warmup_steps, runs, steps):
    """Mean KV length over the timed steps of gpu_decode / hf_decode: the prompt, the warm-up
    steps, then runs x steps, each step one position longer."""
    return prompt_tokens + warmup_steps + (runs * steps - 1) / 2.0 + 1
