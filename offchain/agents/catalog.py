"""The models an agent serves or watches: each loaded, verified (SPEC §6.2) and keyed by its
registry id, so a task's model id on chain tells the agent which file and graph F to run."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from offchain.game.model import ModelSpec, model_spec
from offchain.llm.format import read_model
from offchain.llm.model import IntModel
from offchain.node.graph import Graph, build_graph

ROOT = Path(__file__).resolve().parent.parent.parent
#: The shipped models and the graphs they are registered with (scripts/deploy.py registers these).
SHIPPED = ("models/shakespeare.opml", "models/mnist.opml#single", "models/mnist.opml#two-phase")


@dataclass(frozen=True)
class Entry:
    """One served model: a file, the graph F it is registered with, and its ModelSpec."""

    ref: str  # PATH, PATH#single or PATH#two-phase; also the record's uri
    model: IntModel
    graph: Graph
    spec: ModelSpec

    @property
    def name(self) -> str:
        path, _, mode = self.ref.partition("#")
        return Path(path).stem + (f"-{mode}" if mode else "")

    @cached_property
    def id(self) -> bytes:
        return self.spec.model_id


def load_entry(ref: str) -> Entry:
    """Load `PATH[#single|#two-phase]`, build its F and verify both (one-line ValueError if not)."""
    from offchain.game.verify import ModelInvalid, verify

    path, _, mode = ref.partition("#")
    if mode not in ("", "single", "two-phase"):
        raise ValueError(f"{ref}: the mode after '#' is 'single' or 'two-phase'")
    file = Path(path) if Path(path).is_absolute() else ROOT / path
    model = read_model(file)
    graph = build_graph(model.config, single_phase=mode == "single")
    spec = model_spec(model, graph, ref)
    try:
        verify(model, [d.encode() for d in graph.descriptors], spec)
    except ModelInvalid as e:
        raise ValueError(f"{ref}: refused by model verify: {e}") from None
    return Entry(ref, model, graph, spec)


class Catalog:
    """Models by registry id."""

    def __init__(self, refs: tuple[str, ...] = SHIPPED) -> None:
        self.entries = [load_entry(r) for r in refs]
        self.by_id = {e.id: e for e in self.entries}

    def get(self, model_id: bytes) -> Entry | None:
        return self.by_id.get(model_id)

    def named(self, name: str) -> Entry:
        for e in self.entries:
            if name in (e.name, e.ref):
                return e
        raise ValueError(f"unknown model {name!r}: known are {', '.join(e.name for e in self.entries)}")
