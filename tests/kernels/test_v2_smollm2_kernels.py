"""The v2 kernels on SmolLM2-135M-Instruct's real weights (the model `make setup` installs): a
token's layer 0 run kernel by kernel in the VM, each kernel fed the previous kernels' VM
outputs, the weights and norm gains as the file's own bytes, equals the native runner's trace
node for node. `make fuzz` (OPML_FUZZ=1) runs all 30 layers, the logits and the sampler."""

from __future__ import annotations

import numpy as np
import pytest
from gguf import GGUFReader

from offchain.llm.kernels import output, run
from offchain.llm.kernels import registry_v2 as R
from offchain.llm.known_models import SMOLLM2
from offchain.llm.ops import canonical_bytes
from offchain.llm.v2 import RunnerV2, load_gguf
from offchain.llm.v2.sample import Sampling, sample
from tests.budget import LONG_RUN

PATH = SMOLLM2.path()
CONTEXT = 16
pytestmark = pytest.mark.skipif(not PATH.exists(), reason=f"{SMOLLM2.relpath} is not installed (make setup)")


def vm(node: R.NodeV2, want: np.ndarray, name: str) -> np.ndarray:
    """Run `node`; its output must be the trace's `want`; returned decoded (the next input)."""
    out = output(node, run(node))
    assert out == canonical_bytes(want), f"{name}: the kernel differs from the native runner"
    return want


def test_a_token_through_the_v2_kernels_equals_the_native_runner():
    m = load_gguf(PATH, CONTEXT)
    c = m.shape
    H, G, hd = c.n_heads, c.n_kv_heads, c.head_dim
    f32 = {t.name.removesuffix(".weight"): np.asarray(t.data, dtype=np.float32)
           for t in GGUFReader(PATH).tensors if t.name.endswith("norm.weight")}
    runner = RunnerV2(m)
    runner.step(1, 0)  # position 0 fills the caches' first row
    trace: dict[str, np.ndarray] = {}
    tok, pos = 9690, 1
    z = runner.step(tok, pos, emit=lambda name, x: trace.__setitem__(name, np.array(x)))

    h = vm(R.embed(m.mats["token_embd"], tok), trace["embed"], "embed")
    for layer in range(c.n_layers if LONG_RUN else 1):
        p = f"blk.{layer}."
        n = vm(R.rmsnorm(h, f32[p + "attn_norm"], *m.eps), trace[p + "attn_norm"], "attn_norm")
        q = vm(R.linear(m.mats[p + "attn_q"], n, R.LinearModeV2.ACT), trace[p + "q"].reshape(-1), "q")
        k = vm(R.linear(m.mats[p + "attn_k"], n, R.LinearModeV2.ACT), trace[p + "k"].reshape(-1), "k")
        v = vm(R.linear(m.mats[p + "attn_v"], n, R.LinearModeV2.ACT), trace[p + "v"].reshape(-1), "v")
        q = vm(R.rope(q.reshape(H, hd), m.rope_cos, m.rope_sin, pos), trace[p + "q_rope"], "q_rope")
        k = vm(R.rope(k.reshape(G, hd), m.rope_cos, m.rope_sin, pos), trace[p + "k_rope"], "k_rope")
        kc = vm(R.kv_append(runner.k_cache[layer, :pos], k, pos, CONTEXT), trace[p + "k_cache"], "k_cache")
        vc = vm(R.kv_append(runner.v_cache[layer, :pos], v.reshape(G, hd), pos, CONTEXT), trace[p + "v_cache"],
                "v_cache")
        o = vm(R.attention(q, kc, vc, m.exp2, pos, CONTEXT), trace[p + "attn"], "attention")
        h = vm(R.linear(m.mats[p + "attn_output"], o, R.LinearModeV2.RESIDUAL, h), trace[p + "attn_residual"], "wo")
        n = vm(R.rmsnorm(h, f32[p + "ffn_norm"], *m.eps), trace[p + "ffn_norm"], "ffn_norm")
        g = vm(R.linear(m.mats[p + "ffn_gate"], n, R.LinearModeV2.ACT), trace[p + "gate"], "gate")
        u = vm(R.linear(m.mats[p + "ffn_up"], n, R.LinearModeV2.ACT), trace[p + "up"], "up")
        a = vm(R.swiglu(g, u, m.exp2), trace[p + "swiglu"], "swiglu")
        h = vm(R.linear(m.mats[p + "ffn_down"], a, R.LinearModeV2.RESIDUAL, h), trace[p + "ffn_residual"], "w_down")
    if not LONG_RUN:
        return
    n = vm(R.rmsnorm(h, f32["output_norm"], *m.eps), trace["norm"], "output_norm")
    vm(R.linear(m.mats["output"], n, R.LinearModeV2.ACT), z, "logits")
    s = Sampling(800, 950, 42)
    want = np.array([sample(z, s, pos, m.exp2)], dtype=np.int32)
    vm(R.sample(z, m.exp2, pos, s.temp_milli, s.top_p_milli, s.seed), want, "sample")
