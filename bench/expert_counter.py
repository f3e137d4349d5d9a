"""How many distinct experts a decode step's tokens select, per MoE layer, read from HF's routers.

bench/moe_roofline.py estimates the count for uniformly random routing; this measures it on HF's
own run over the same weights (hooks on the router modules, found by name as tools/router_margins.py
finds them), for the report to set beside the estimate. HF's tokens are not tessera's, but both
decode the same prompts through the same weights, so the counts are comparable. Counting syncs
the GPU, so it runs only on steps that are not timed.
"""
import statistics


class ExpertCounter:
    def __init__(self, model):
        config = model.config
        self.num_experts = getattr(config, "num_experts", None) or getattr(config, "num_local_experts", None)
        self.top_k = getattr(config, "num_experts_per_tok", None)
        if not self.num_experts or not self.top_k:
            raise SystemExit("--count-experts: the model's config has no num_experts / num_experts_per_tok")
        self.counts = []
        self.handles = []
        # Qwen's `mlp.gate`, Mixtral's `block_sparse_moe.gate`; a dense MLP's is `gate_proj`, and
        # Qwen2-MoE's `shared_expert_gate` is no router.
        self.routers = [module for name, module in model.named_modules()
                        if name.rsplit(".", 1)[-1] in ("gate", "router")]
        if not self.routers:
            raise SystemExit("--count-experts: no router module (…gate / …router) found")

    def start(self):
        """Hooks on the routers until stop(), so timed steps run without them."""
        self.counts = []
        self.handles = [router.register_forward_hook(self._hook) for router in self.routers]

    def stop(self):
        """Mean over the counted steps and MoE layers of the distinct experts selected."""
        for handle in self.handles:
            handle.remove()
        self.handles = []
        return statistics.mean(self.counts) if self.counts else None

    def _selected(self, output):
        """[tokens, top_k] expert indices from the router's output: its own indices when it
        returns them (transformers 5's top-k routers do), else the top-k of its scores."""
        tensors = output if isinstance(output, (tuple, list)) else (output,)
        for t in tensors:
            if hasattr(t, "dtype") and not t.is_floating_point() and t.dim() >= 1 and t.shape[-1] == self.top_k:
                return t.reshape(-1, self.top_k)
        for t in tensors:
            if hasattr(t, "dtype") and t.is_floating_point() and t.dim() >= 1 and t.shape[-1] == self.num_experts:
                return t.reshape(-1, self.num_experts).topk(self.top_k, dim=-1).indices
        return None

    def _hook(self, module, inputs, output):
        selected = self._selected(output)
        if selected is None:
            raise RuntimeError("--count-experts: a router's output holds neither [tokens, top_k] "
                               "indices nor [tokens, num_experts] scores")
        self.counts.append(int(selected.unique().numel()))
