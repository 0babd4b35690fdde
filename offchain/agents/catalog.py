"""The models an agent serves or watches: each loaded, verified (SPEC §6.2) and keyed by its
registry id, so a task's model id on chain tells the agent which file and graph F to run."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from offchain.game.model import ModelSpec, model_spec
from offchain.llm.format import read_model
from offchain.llm.model import ARCH_MLP, IntModel
from offchain.llm.v2.model import ModelV2
from offchain.node.graph import Graph, build_graph

ROOT = Path(__file__).resolve().parent.parent.parent
#: The shipped models and the graphs they are registered with (scripts/deploy.py registers these).
SHIPPED = ("models/shakespeare.opml", "models/mnist.opml#single", "models/mnist.opml#two-phase")


@dataclass(frozen=True)
class Entry:
    """One served model: a file, the graph F it is registered with, and its ModelSpec."""

    ref: str  # PATH, PATH#single or PATH#two-phase, or a known GGUF's name (smollm2); also the record's uri
    model: IntModel | ModelV2
    graph: Graph
    spec: ModelSpec

    @property
    def name(self) -> str:
        if self.v2 and "/" not in self.ref and not self.ref.endswith(".gguf"):
            return self.ref
        path, _, mode = self.ref.partition("#")
        return Path(path).stem + (f"-{mode}" if mode else "")

    @property
    def v2(self) -> bool:
        """A GGUF under spec v2 (SPEC §3v2, §5.5): greedy chat tasks over its own tokenizer."""
        return isinstance(self.model, ModelV2)

    @property
    def mlp(self) -> bool:
        return isinstance(self.model, IntModel) and self.model.config.arch == ARCH_MLP

    @cached_property
    def tokenizer(self):  # type: ignore[no-untyped-def]
        """The model's tokenizer: the GGUF's (v2) or the model file's byte-level one (v1 LLaMA)."""
        if isinstance(self.model, ModelV2):
            from offchain.llm.gguf_file import read_info
            from offchain.llm.gguf_tokenizer import GgufTokenizer

            return GgufTokenizer.from_gguf(read_info(self.model.path))
        from offchain.llm.tokenizer import Tokenizer

        return Tokenizer.from_json(self.model.tokenizer)

    def trace(self, prompt: list[int] | bytes, n_new: int, on_token=None):  # type: ignore[no-untyped-def]
        """The honest native run of a task: a game.task.Task (v1) or game.task_v2.TaskV2."""
        if isinstance(self.model, ModelV2):
            from offchain.game.task_v2 import trace_v2

            assert not isinstance(prompt, bytes)
            return trace_v2(self.model, self.graph, prompt, n_new, on_token)
        from offchain.game.task import trace

        return trace(self.model, self.graph, prompt, n_new, on_token)

    @cached_property
    def id(self) -> bytes:
        return self.spec.model_id


def load_entry(ref: str) -> Entry:
    """Load `PATH[#single|#two-phase]`, or a GGUF (a path or a known model's name, spec v2), build
    its F and verify both (one-line ValueError if not)."""
    from offchain.game.verify import ModelInvalid, verify

    gguf = _gguf(ref)
    if gguf is not None:
        return _load_v2(ref, gguf)
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


def _gguf(ref: str) -> Path | None:
    """The GGUF file `ref` names (a known model or a path to a GGUF), or None for a v1 file."""
    from offchain.llm.known_models import KNOWN_MODELS
    from offchain.llm.v2.session import is_gguf

    if ref in KNOWN_MODELS:
        path = KNOWN_MODELS[ref].path()
        if not path.exists():
            raise ValueError(f"model {ref} is not installed: run `make setup` (expected {KNOWN_MODELS[ref].relpath})")
        return path
    file = Path(ref) if Path(ref).is_absolute() else ROOT / ref
    return file if file.is_file() and is_gguf(file) else None


def _load_v2(ref: str, path: Path) -> Entry:
    from offchain.game.model_v2 import model_spec_v2, verify_v2
    from offchain.game.verify import ModelInvalid
    from offchain.llm.v2.model import load_gguf
    from offchain.llm.v2.session import cached_leaf_roots
    from offchain.node.graph_v2 import build_graph_v2

    model = load_gguf(path)
    try:
        graph = build_graph_v2(model)
    except ValueError as e:
        raise ValueError(f"{ref}: {e}") from None
    leaves = cached_leaf_roots(path, model.shape.max_seq_len)
    spec = model_spec_v2(model, graph, ref, leaves)
    try:
        verify_v2(model, [d.encode() for d in graph.descriptors], spec, leaves)
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


def register(system, entry: Entry) -> bool:  # type: ignore[no-untyped-def]
    """Register `entry`'s spec unless the registry has it; True if this call registered it."""
    from dataclasses import astuple

    if system.models.call("exists", entry.id):
        return False
    system.models.send("register", astuple(entry.spec))
    return True


#: Short names `opml request --model` takes for the shipped models (any other ref is a path or a known GGUF).
SHORT_NAMES = {"shakespeare": SHIPPED[0], "mnist": SHIPPED[1], "mnist-single": SHIPPED[1], "mnist-two-phase": SHIPPED[2]}


def resolve_ref(name: str, system=None) -> str:  # type: ignore[no-untyped-def]
    """A model as `--model` names it: a shipped short name, a path, a known GGUF (smollm2), or a
    registry id (0x…, 32 bytes) whose record's uri names the file (read from `system`)."""
    from offchain.llm.known_models import KNOWN_MODELS

    if name.startswith("0x") and len(name) == 66:
        if system is None:
            raise ValueError("a model id needs a chain to read its record from")
        spec = system.models.call("model", bytes.fromhex(name[2:]))
        uri = spec[-1] if isinstance(spec, (tuple, list)) else spec["uri"]
        if not uri:
            raise ValueError(f"model {name} is not registered on this chain (or has no uri)")
        return str(uri)
    if name in SHORT_NAMES:
        return SHORT_NAMES[name]
    if name in KNOWN_MODELS or Path(name.partition("#")[0]).exists() or (ROOT / name.partition("#")[0]).exists():
        return name
    raise ValueError(f"unknown model {name!r}: shakespeare, mnist, mnist-two-phase, smollm2, a model file path or a "
                     "registered model's id (0x…)")
