"""Metrics that compare two models' next-token logits (scripts/accuracy_report.py, `make accuracy`).

Every function takes natural-unit logits, one row per position ([n, V]), and works in float64:
a softmax is invariant to a constant per row, so each row is shifted by its max before exp, and
the float32 logits llama.cpp returns are widened first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise log-probabilities of logits `z` ([n, V] or [V])."""
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def kl(p_logits: np.ndarray, q_logits: np.ndarray) -> np.ndarray:
    """KL(P ‖ Q) in nats per row: sum_v p_v (log p_v - log q_v), P the reference's distribution."""
    lp, lq = log_softmax(p_logits), log_softmax(q_logits)
    if lp.shape != lq.shape:
        raise ValueError(f"logits of different shapes: {lp.shape} vs {lq.shape}")
    return np.maximum((np.exp(lp) * (lp - lq)).sum(axis=-1), 0.0)  # >= 0 up to float rounding


def same_argmax(a_logits: np.ndarray, b_logits: np.ndarray) -> np.ndarray:
    """Per row: do both pick the same next token? (numpy's argmax: the lowest id on a tie)"""
    a, b = np.asarray(a_logits), np.asarray(b_logits)
    if a.shape != b.shape:
        raise ValueError(f"logits of different shapes: {a.shape} vs {b.shape}")
    return np.argmax(a, axis=-1) == np.argmax(b, axis=-1)


def nll(logits: np.ndarray, targets: np.ndarray | list[int]) -> np.ndarray:
    """Per row: -log p(target), in nats."""
    lp = log_softmax(logits)
    t = np.asarray(targets, dtype=np.int64)
    if lp.ndim != 2 or t.shape != (lp.shape[0],):
        raise ValueError(f"{t.shape[0] if t.ndim else 0} targets for {lp.shape[0]} rows of logits")
    return -lp[np.arange(len(t)), t]


def perplexity(nlls: np.ndarray) -> float:
    """exp(mean negative log-likelihood)."""
    return float(np.exp(np.mean(nlls)))


@dataclass
class Tally:
    """Running agreement and KL of one model against a reference, over many positions."""

    n: int = 0
    agree: int = 0
    kl_sum: float = 0.0
    kl_max: float = 0.0

    def add(self, ref_logits: np.ndarray, logits: np.ndarray) -> None:
        k = kl(ref_logits, logits)
        self.n += len(k)
        self.agree += int(same_argmax(ref_logits, logits).sum())
        self.kl_sum += float(k.sum())
        self.kl_max = max(self.kl_max, float(k.max(initial=0.0)))

    @property
    def agreement(self) -> float:
        return self.agree / self.n if self.n else float("nan")

    @property
    def mean_kl(self) -> float:
        return self.kl_sum / self.n if self.n else float("nan")
