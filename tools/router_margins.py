"""Router near-tie guard for the Mixture-of-Experts fixtures of make_golden.py.

A random router can score two experts almost equally; then the top-k choice flips under any
rounding difference and a correct implementation disagrees with HF. make_golden.py scales the
router weights up and, with the hooks here, measures along every forward pass the gap between
the k-th and the (k+1)-th router score of every token; a seed is kept only when the smallest gap
clears a margin.
"""


def is_router_weight(name, shape, num_experts):
    """The router's [num_experts, hidden] weight (not Qwen2-MoE's one-row shared_expert_gate)."""
    return (name.endswith("gate.weight") and "shared_expert" not in name
            and len(shape) == 2 and shape[0] == num_experts)


class RouterGaps:
    """Forward hooks on the router modules; `smallest` is the least top-k gap seen, in logits."""

    def __init__(self, torch, model, num_experts, top_k):
        self.torch, self.num_experts, self.top_k = torch, num_experts, top_k
        self.smallest = float("inf")
        self.calls = 0
        self.handles = []
        for name, module in model.named_modules():
            leaf = name.rsplit(".", 1)[-1]
            if leaf in ("gate", "router") and "shared_expert" not in name:
                self.handles.append(module.register_forward_hook(self._hook))
        if not self.handles:
            raise RuntimeError("no router module (…mlp.gate / …router) found to watch")

    def _scores(self, output):
        tensors = output if isinstance(output, (tuple, list)) else (output,)
        for t in tensors:
            if hasattr(t, "shape") and t.dim() >= 2 and t.shape[-1] == self.num_experts and t.is_floating_point():
                return t.reshape(-1, self.num_experts).float()
        return None

    def _hook(self, module, inputs, output):
        scores = self._scores(output)
        if scores is None:
            return
        # Probabilities (a softmax already applied) are compared as logits.
        if bool((scores >= 0).all()) and bool(((scores.sum(-1) - 1).abs() < 1e-3).all()):
            scores = scores.clamp_min(1e-30).log()
        top = self.torch.topk(scores, self.top_k + 1, dim=-1).values
        gap = (top[:, self.top_k - 1] - top[:, self.top_k]).min().item()
        self.smallest = min(self.smallest, gap)
        self.calls += 1

    def close(self):
        for h in self.handles:
            h.remove()
        if self.calls == 0:
            raise RuntimeError("the router hooks never saw router scores")
