"""A task's canonical input, its prompt commitment, and the one-shot token-mismatch proof (SPEC §6.3).

A LLaMA task's input is its prompt as i32 big-endian (P = len/4), an MLP task's the raw u8 vector
(P = N = 1). The contract stores the input's tensor root; a prompt token at t < P is word t mod 8
of leaf ⌊t/8⌋ of that tensor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from offchain.constants import ACC_DEPTH
from offchain.game.errors import Revert
from offchain.game.paths import accumulator_path, check_path, leaf_of, tree_path
from offchain.merkle import tensor_height, tensor_root
from offchain.merkle.accumulator import Accumulator

TOKENS_PER_LEAF = 8


def task_input(prompt: Sequence[int] | bytes) -> bytes:
    """Canonical task input: prompt tokens as i32 big-endian, or an MLP's raw bytes unchanged."""
    if isinstance(prompt, (bytes, bytearray)):
        return bytes(prompt)
    if any(not 0 <= t < 1 << 31 for t in prompt):
        raise ValueError("a prompt token is a non-negative i32")
    return b"".join(int(t).to_bytes(4, "big") for t in prompt)


def tokens_bytes(tokens: Sequence[int]) -> bytes:
    """A result's token list as submitted: N i32 big-endian (negative values wrap, as i32)."""
    return b"".join((int(t) & 0xFFFFFFFF).to_bytes(4, "big") for t in tokens)


def input_root(data: bytes) -> bytes:
    """The prompt commitment the contract stores at task creation."""
    return tensor_root(data)[0]


def prompt_depth(n_prompt: int) -> int:
    """Depth of the prompt tree: height(4P) (SPEC §6.1)."""
    return tensor_height(4 * n_prompt)


def prompt_leaf(data: bytes, t: int) -> tuple[bytes, bytes]:
    """(leaf, compact path) proving prompt token t: leaf ⌊t/8⌋ of the prompt tensor."""
    if not 0 <= 4 * t < len(data):
        raise ValueError(f"position {t} is outside the prompt of {len(data) // 4} tokens")
    k = t // TOKENS_PER_LEAF
    return leaf_of(data, k), tree_path(data, k)


def token_root(word: bytes) -> bytes:
    """The tensor root of one token as i32 [1]: the word, then 28 zero bytes (`word·2^224`)."""
    return word + bytes(28)


@dataclass(frozen=True)
class TokenMismatch:
    """`proveTokenMismatch(result, tokens, k, leaf, path)`: token k differs from S_n's argmax leaf."""

    k: int
    leaf: bytes
    path: bytes
    index: int  # (P − 1 + k)·n_f + j_argmax, derived on chain; here for people and tests


def argmax_index(n_prompt: int, k: int, n_f: int, j_argmax: int) -> int:
    return (n_prompt - 1 + k) * n_f + j_argmax


def token_mismatch(acc: Accumulator, tokens: Sequence[int], n_prompt: int, n_f: int,
                   j_argmax: int) -> TokenMismatch | None:
    """The proof that a result's tokens disagree with its own S_n (the final state of `acc`), or
    None when every token matches its argmax leaf."""
    for k, tok in enumerate(tokens):
        i = argmax_index(n_prompt, k, n_f, j_argmax)
        leaf = acc.levels[0][i]
        if leaf != token_root(tokens_bytes([tok])):
            return TokenMismatch(k, leaf, accumulator_path(acc, i, acc.n), i)
    return None


def check_token_mismatch(s_n: bytes, tokens: bytes, n_prompt: int, n_f: int, j_argmax: int, p: TokenMismatch) -> None:
    """The contract's check (SPEC §6.3); raises Revert naming its custom error."""
    n_new = len(tokens) // 4
    if not 0 <= p.k < n_new:
        raise Revert("TokenIndexOutOfRange", f"token {p.k} of {n_new}", (p.k,))
    check_path(s_n, p.leaf, argmax_index(n_prompt, p.k, n_f, j_argmax), p.path, ACC_DEPTH)
    if p.leaf == token_root(tokens[4 * p.k : 4 * p.k + 4]):
        raise Revert("TokenMatches", f"token {p.k} equals its argmax leaf")

