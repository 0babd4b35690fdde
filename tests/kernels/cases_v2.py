"""Random but valid arguments for every v2 kernel, and the bytes of its numpy definition
(offchain/llm/v2/ops.py). A case function takes a numpy Generator or `cases.Drawn` (hypothesis
draws every shape and value). Values mix uniform draws with the edges of each range: zero blocks,
int32 saturation, the tiniest (subnormal) and largest finite fp16 scales."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np

from offchain.llm.kernels import registry_v2 as R
from offchain.llm.ops import canonical_bytes
from offchain.llm.v2 import ops
from offchain.llm.v2.blocks import BLOCK_BYTES, K_BYTES, QK, QKK, Weight, weight
from offchain.llm.v2.fixed import exp2_table, f32_parts, rope_tables, shift_round
from offchain.llm.v2.sample import Sampling
from offchain.llm.v2.sample import sample as sample_token
from tests.kernels.cases import Rng, arr

I32, I64 = np.int32, np.int64
Case = tuple[R.NodeV2, bytes]
KINDS = tuple(R.GGML_TYPE)
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
#: fp16 scale bits at the edges: zero, ±tiniest subnormal, ±smallest normal, ±1, ±largest finite
EDGE_FP16 = (0x0000, 0x0001, 0x8001, 0x0400, 0x8400, 0x3C00, 0xBC00, 0x7BFF, 0xFBFF)
#: F32 weight bits at the edges: ±0, ±tiniest and largest subnormal, ±1, ±largest finite, and the
#: exponents where shift_round(x·m, e + 8) turns from a right shift to 0 (e + 8 = −63, −62) or its
#: left shift saturates at 63 (e + 8 = 63, 64)
EDGE_F32 = (0x00000000, 0x80000000, 0x00000001, 0x807FFFFF, 0x3F800000, 0xBF800000, 0x7F7FFFFF, 0xFF7FFFFF,
            79 << 23 | 0x1234, 80 << 23 | 0x7FFFFF, 205 << 23, 0x80000000 | 206 << 23 | 1)


@cache
def exp2() -> np.ndarray:
    return exp2_table()


@cache
def rope_tab(hd: int, s: int) -> tuple[np.ndarray, np.ndarray]:
    return rope_tables(0x461C4000, hd, s)  # θ = 10000.0


def fp16_bits(rng: Rng, n: int) -> np.ndarray:
    """Finite fp16 bit patterns: uniform (exponent < 31) or an edge value."""
    u = rng.integers(0, 0x7C00, size=n, endpoint=False) | (rng.integers(0, 2, size=n) << 15)
    edge = rng.choice(np.array(EDGE_FP16), size=n)
    return np.where(rng.random(size=n) < 0.25, edge, u).astype(np.uint16)


def f32_bits(rng: Rng, n: int) -> np.ndarray:
    """Finite F32 bit patterns: uniform (exponent field < 255) or an edge value."""
    u = rng.integers(0, 0x7F800000, size=n, endpoint=False) | (rng.integers(0, 2, size=n) << 31)
    edge = rng.choice(np.array(EDGE_F32), size=n)
    return np.where(rng.random(size=n) < 0.25, edge, u).astype(np.uint32)


def block_weight(rng: Rng, kind: str, n: int, k: int) -> Weight:
    """A random [n, k] weight in `kind`, as the file's bytes (F32/F16: as gguf gives them, arrays of
    their values)."""
    if kind == "F32":
        return weight(kind, f32_bits(rng, n * k).view(np.float32).reshape(n, k), "w", (n, k))
    if kind == "F16":
        return weight(kind, fp16_bits(rng, n * k).view(np.float16).reshape(n, k), "w", (n, k))
    if kind in K_BYTES:
        return k_weight(rng, kind, n, k)
    nb, bb = k // QK, BLOCK_BYTES[kind]
    raw = np.asarray(rng.integers(0, 256, size=(n * nb, bb)), dtype=np.uint8)
    if rng.random() < 0.2:  # a zero block: its weights (not its scale) are all zero
        raw[int(rng.integers(0, n * nb)), 2:] = 0 if kind != "Q4_0" else 0x88
    for off in (0, 2) if kind == "Q4_1" else (0,):
        bits = fp16_bits(rng, n * nb)
        raw[:, off], raw[:, off + 1] = bits & 0xFF, bits >> 8
    return weight(kind, raw.reshape(n, nb * bb), "w", (n, k))


def k_weight(rng: Rng, kind: str, n: int, k: int) -> Weight:
    """A random [n, k] k-quant: random bytes (every 6-bit scale and min, every int8 Q6_K scale), the
    fp16 d (and dmin) finite or at an edge; now and then a super-block of zero integers."""
    ns, sb = k // QKK, K_BYTES[kind]
    raw = np.asarray(rng.integers(0, 256, size=(n * ns, sb)), dtype=np.uint8)
    if rng.random() < 0.2:  # a zero super-block: its integers all zero, d and dmin kept
        i = int(rng.integers(0, n * ns))
        if kind == "Q6_K":
            raw[i, :128], raw[i, 128:192] = 0, 0xAA  # each 6-bit q is 32 (nibble 0, high bits 2): q − 32 = 0
        else:
            raw[i, 4:] = 0
    for off in (208,) if kind == "Q6_K" else (0, 2):
        bits = fp16_bits(rng, n * ns)
        raw[:, off], raw[:, off + 1] = bits & 0xFF, bits >> 8
    return weight(kind, raw.reshape(n, ns * sb), "w", (n, k))


def width(rng: Rng, kind: str, most: int = 4) -> int:
    """A row length for `kind`: 1 … `most` blocks of 32 (k-quants: of 256)."""
    return max(R.BLOCK_VALUES[kind], QK) * int(rng.integers(1, most + 1))


def act(rng: Rng, k: int, block: int = QK) -> np.ndarray:
    """An int32 activation: realistic (|x| < 2^22), saturated, with zero `block`s (the input
    quantization's blocks: 256 for k-quants), or all equal."""
    style = int(rng.integers(0, 4))
    x = arr(rng, k, I32_MIN, I32_MAX) if style == 1 else arr(rng, k, -(1 << 22), 1 << 22)
    if style == 2:
        zero = rng.random(size=k // block) < 0.5
        x = np.where(np.repeat(zero, block), 0, x).astype(I32)
    if style == 3:
        x = np.full(k, x[0], dtype=I32)
    return x


def linear(rng: Rng, kind: str | None = None, mode: int | None = None) -> Case:
    kind = KINDS[int(rng.integers(0, len(KINDS)))] if kind is None else kind
    mode = R.LinearModeV2(int(rng.integers(0, 2)) if mode is None else mode)
    n, k = int(rng.integers(1, 9)), width(rng, kind, 2 if kind in K_BYTES else 4)
    w, x = block_weight(rng, kind, n, k), act(rng, k, QKK if kind in K_BYTES else QK)
    r0, nr = 0, n
    if rng.random() < 0.4:
        r0 = int(rng.integers(0, n))
        nr = int(rng.integers(1, n - r0 + 1))
    acc = ops.matmul_acc_numpy(w, ops.quantize_act(x))[r0:r0 + nr]
    if mode == R.LinearModeV2.ACT:
        return R.linear(w, x, mode, rows=(r0, nr)), canonical_bytes(ops.to_act(acc))
    h = arr(rng, n, -(1 << 40), 1 << 40, I64)
    return R.linear(w, x, mode, h, rows=(r0, nr)), canonical_bytes(h[r0:r0 + nr] + acc)


def embed(rng: Rng, kind: str | None = None) -> Case:
    kind = KINDS[int(rng.integers(0, len(KINDS)))] if kind is None else kind
    v, d = int(rng.integers(1, 6)), width(rng, kind, 2 if kind in K_BYTES else 3)
    w, tok = block_weight(rng, kind, v, d), int(rng.integers(0, v))
    return R.embed(w, tok), canonical_bytes(ops.embed_row(w, tok))


def rmsnorm(rng: Rng) -> Case:
    d = int(rng.integers(1, 48))
    lim = int(rng.choice(np.array([1 << 20, 1 << 30, 1 << 45, (1 << 62) - 1])))
    h = arr(rng, d, -lim, lim, I64)
    g = arr(rng, d, -(1 << 31) + 1, (1 << 31) - 1, I64)
    em = int(rng.integers(1, 1 << 24))
    ee = int(rng.integers(-149, -23))  # em < 2^24 and ee <= -24: 0 < ε < 1
    if rng.random() < 0.5:  # the file's F32 gains, converted by the kernel as the loader does
        bits = rng.integers(0, 0x43000000, size=d) | (rng.integers(0, 2, size=d) << 31)  # |value| < 128
        edge = rng.choice(np.array([0, 1, 0x807FFFFF, 0x3F800000, 0x42FFFFFF, 0xC2FFFFFF]), size=d)
        bits = np.where(rng.random(size=d) < 0.2, edge, bits).astype(np.uint32)
        m, e = f32_parts(bits)
        g = shift_round(m, e + 24)  # exact from 0.5 up, so |g| < 2^31 below 128
        return R.rmsnorm(h, bits.view(np.float32), em, ee), canonical_bytes(ops.rmsnorm(h, g, em, ee))
    return R.rmsnorm(h, g, em, ee), canonical_bytes(ops.rmsnorm(h, g, em, ee))


def rope(rng: Rng) -> Case:
    heads, hd, s = int(rng.integers(1, 4)), 2 * int(rng.integers(1, 9)), int(rng.integers(1, 6))
    cos, sin = rope_tab(hd, s)
    pos = int(rng.integers(0, s))
    x = arr(rng, (heads, hd), I32_MIN, I32_MAX)
    return R.rope(x, cos, sin, pos), canonical_bytes(ops.rope(x, cos[pos], sin[pos]))


def attention(rng: Rng) -> Case:
    g = int(rng.integers(1, 3))
    h, hd, s = g * int(rng.integers(1, 3)), int(rng.choice(np.array([1, 2, 8, 16]))), int(rng.integers(1, 6))
    pos = int(rng.integers(0, s))
    lim = I32_MAX if rng.random() < 0.3 else 1 << 22
    q, k, v = arr(rng, (h, hd), -lim, lim), arr(rng, (s, g, hd), -lim, lim), arr(rng, (s, g, hd), I32_MIN, I32_MAX)
    want = ops.attention(q, k[:pos + 1], v[:pos + 1], exp2(), ops.score_scale(hd))
    if rng.random() < 0.3:  # a head tile
        h0 = int(rng.integers(0, h))
        nh = int(rng.integers(1, h - h0 + 1))
        return (R.attention(q, k[:pos + 1], v[:pos + 1], exp2(), pos, s, heads=(h0, nh)),
                canonical_bytes(want[h0 * hd:(h0 + nh) * hd]))
    return R.attention(q, k[:pos + 1], v[:pos + 1], exp2(), pos, s), canonical_bytes(want)


def kv_append(rng: Rng) -> Case:
    """Any int32 values (the kernel moves bytes); position 0 starts from one zero row."""
    g, hd, s = int(rng.integers(1, 4)), int(rng.integers(1, 9)), int(rng.integers(1, 7))
    pos = int(rng.integers(0, s))
    cache = arr(rng, (max(pos, 1), g, hd), I32_MIN, I32_MAX) if pos else np.zeros((1, g, hd), dtype=I32)
    row = arr(rng, (g, hd), I32_MIN, I32_MAX)
    want = np.concatenate([cache[:pos], row[None]])
    return R.kv_append(cache, row, pos, s), canonical_bytes(want)


def swiglu(rng: Rng) -> Case:
    f = int(rng.integers(1, 40))
    lim = I32_MAX if rng.random() < 0.3 else 1 << 21
    gate, up = arr(rng, f, -lim, lim), arr(rng, f, I32_MIN, I32_MAX)
    return R.swiglu(gate, up, exp2()), canonical_bytes(ops.swiglu(gate, up, exp2()))


def sample(rng: Rng) -> Case:
    """Greedy a quarter of the time; else a temperature from very cold to hot, any top-p, any seed.
    Logits spread from a few ties to the whole int32 range."""
    v = int(rng.integers(1, 300))
    spread = int(rng.choice(np.array([4, 1 << 12, 1 << 18, I32_MAX])))
    z = arr(rng, v, -spread, spread)
    if rng.random() < 0.3:  # ties at the top
        z[rng.integers(0, v, size=3)] = z.max()
    temp = 0 if rng.random() < 0.25 else int(rng.choice(np.array([1, 100, 700, 1000, 2500, (1 << 20) - 1])))
    s = Sampling(temp, int(rng.integers(1, 1001)), int(rng.integers(0, 1 << 63)) * 2 + int(rng.integers(0, 2)))
    pos = int(rng.integers(0, 1 << 32))
    token = sample_token(z, s, pos, exp2())
    return R.sample(z, exp2(), pos, s.temp_milli, s.top_p_milli, s.seed), canonical_bytes(np.array([token], dtype=I32))


CASES: dict[R.OpV2, Callable[[Rng], Case]] = {
    R.OpV2.EMBED: embed,
    R.OpV2.RMSNORM: rmsnorm,
    R.OpV2.LINEAR: linear,
    R.OpV2.ROPE: rope,
    R.OpV2.ATTENTION: attention,
    R.OpV2.SWIGLU: swiglu,
    R.OpV2.SAMPLE: sample,
    R.OpV2.KV_APPEND: kv_append,
}
