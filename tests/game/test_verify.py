"""`opml model verify` (SPEC §6.2): the shipped graphs pass; a descriptor broken any way is refused."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from offchain.cli import main
from offchain.game.model import model_spec
from offchain.game.verify import ModelInvalid, verify
from offchain.llm.format import write_model
from offchain.node.graph import DESCRIPTOR_FIXED_WORDS, build_graph


def _words(d: bytes) -> list[int]:
    return [int.from_bytes(d[k : k + 4], "big") for k in range(0, len(d), 4)]


def _bytes(words: list[int]) -> bytes:
    return b"".join(w.to_bytes(4, "big") for w in words)


@pytest.fixture(scope="module")
def llama_f(llama):  # type: ignore[no-untyped-def]
    graph = build_graph(llama.config, max_steps=4000)  # with row and head tiles
    return graph, [d.encode() for d in graph.descriptors], model_spec(llama, graph)


def test_the_reference_graphs_verify(llama_f, llama, mlp):
    graph, descs, spec = llama_f
    verify(llama, descs, spec)
    for single in (False, True):
        g = build_graph(mlp.config, single_phase=single)
        verify(mlp, [d.encode() for d in g.descriptors], model_spec(mlp, g))


def _name(graph, op_name):  # type: ignore[no-untyped-def]
    return next(j for j, d in enumerate(graph.descriptors) if d.op.name == op_name)


# (what is broken, node chooser, word index (negative: from the end), new value, the reason's words)
BREAKS = [
    ("program id", "LINEAR", 0, 0, "program id"),
    ("op id", "RMSNORM", 1, 99, "unknown op"),
    ("positional flag", "ROPE", 2, 0, "positional"),
    ("output length", "RMSNORM", 3, 7, "output length"),
    ("output per position", "SCORES", 4, 3, "output length"),
    ("output region", "KV_APPEND", 5, 8, "output region"),
    ("in-place kv_append in region 8", "KV_APPEND", 5, 3, "output region"),
    ("input kind", "RMSNORM", 6, 9, "unknown kind"),
    ("same-token reference forwards", "RMSNORM", 7, 60, "backwards"),
    ("same-token length", "RMSNORM", 8, 5, "committed length"),
    ("weight index", "RMSNORM", 11, 10_000, "outside"),
    ("weight length", "RMSNORM", 12, 4, "committed length"),
    ("weight of another size", "RMSNORM", 11, 1, "committed length"),
    ("token length", "EMBED", 8, 8, "committed length"),
    ("token input in a later op", "RMSNORM", 6, 4, "TOKEN_IN"),
    ("prev-token length", "KV_APPEND", 8, 1, "committed length"),
    ("a used slot after an unused one", "ARGMAX", 13, 3, "unused"),
    ("parameter count", "ARGMAX", DESCRIPTOR_FIXED_WORDS - 1, 2, "parameter count"),
    ("parameter against the config", "EMBED", DESCRIPTOR_FIXED_WORDS, 47, "parameter word 0"),
    ("kernel range", "LINEAR", DESCRIPTOR_FIXED_WORDS + 3, 1 << 20, "out of range"),
]


@pytest.mark.parametrize("what, op, word, value, reason", BREAKS, ids=[b[0] for b in BREAKS])
def test_a_broken_descriptor_is_refused(llama_f, llama, what, op, word, value, reason):
    graph, descs, spec = llama_f
    j = _name(graph, op)
    w = _words(descs[j])
    assert w[word] != value, what
    w[word] = value
    broken = list(descs)
    broken[j] = _bytes(w)
    with pytest.raises(ModelInvalid, match=reason):
        verify(llama, broken, spec)


def test_wrong_spec_fields_are_refused(llama_f, llama):
    graph, descs, spec = llama_f
    for field, value in [("jArgmax", 0), ("nF", spec.nF + 1), ("stepCap", spec.stepCap - 1), ("stepCap", 49),
                         ("vocab", 7), ("context", 1), ("inputBytes", 4), ("weightRoot", bytes(32)),
                         ("programsRoot", bytes(32)), ("commitment", bytes(32)), ("nWeights", 1)]:
        with pytest.raises(ModelInvalid):
            verify(llama, descs, replace(spec, **{field: value}))
    with pytest.raises(ModelInvalid, match="F has no nodes"):
        verify(llama, [], spec)


def test_the_cli_prints_the_spec_and_refuses_a_broken_graph_in_one_line(tmp_path, capsys, mlp):
    path = tmp_path / "m.opml"
    write_model(path, mlp)
    assert main(["model", "verify", str(path), "--single-phase"]) == 0
    out = capsys.readouterr().out
    spec = model_spec(mlp, build_graph(mlp.config, single_phase=True), str(path))
    assert f"model id      0x{spec.model_id.hex()}" in out and "nF            1" in out and "stepCap" in out
    graph = build_graph(mlp.config)
    descs = [d.encode() for d in graph.descriptors]
    w = _words(descs[1])
    w[3] += 1  # fc0's output length
    descs[1] = _bytes(w)
    bad = tmp_path / "f.json"
    bad.write_text(json.dumps(["0x" + d.hex() for d in descs]))
    assert main(["model", "verify", str(path), "--descriptors", str(bad)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "refused" in err and "output length" in err
