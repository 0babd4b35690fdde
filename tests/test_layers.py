"""`offchain/` imports one way: protocol < merkle < mipsemu < llm < node < game < chain < agents < testing
< cli (issue 18; `testing` holds the dishonest players, so no honest agent can import a lie: only the
command line's `--dishonest` wiring may). Every import counts, at module level, inside a function or under TYPE_CHECKING, and so
do the package __init__ files Python runs on the way to a module: the test judges direction, not
placement. And no two modules import each other, directly or round a longer loop (module to module:
a package's __init__ re-exporting its own submodules is not a loop).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ORDER = ("protocol", "merkle", "mipsemu", "llm", "node", "game", "chain", "agents", "testing", "cli")

#: Modules whose layer is not their folder's (longest prefix wins). The command-line front ends
#: (`cli.py`, `__main__.py`, `demo.py`) are the cli layer wherever they sit: they only register and
#: dispatch. One more sits where issue 18 will move it, and is judged by the layer it belongs to:
#: llm/kernels runs a node's program in the VM from its start state (node.start): node layer; its
#: registry, the op table llm.commit reads, stays in llm. offchain/evm.py, the direct anvil client
#: of the tests and benches, is chain layer beside offchain/chain/.
LAYER_OF: dict[str, str] = {
    "offchain": "protocol",  # the package itself: __version__ only
    "offchain.protocol": "protocol",
    "offchain.constants": "protocol",
    "offchain.native": "protocol",  # compiles the C helpers; imports nothing of ours
    "offchain.evm": "chain",
    "offchain.llm.kernels": "node",
    "offchain.llm.kernels.registry": "llm",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    if module.rsplit(".", 1)[-1] in ("cli", "__main__", "demo"):
        return "cli"
    for prefix in sorted(LAYER_OF, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            if prefix != "offchain" or module == "offchain":
                return LAYER_OF[prefix]
    return module.split(".")[1]


MODULES = {module_name(p): p for p in sorted((ROOT / "offchain").rglob("*.py"))}


def imports(module: str, path: Path | None = None) -> list[tuple[int, str]]:
    """(line, imported offchain module) for every import in `module` (read from `path`, default
    its file), wherever it is written: top level, in a function, under TYPE_CHECKING."""
    path = path or MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([node.module] if node.module else []))
            # `from offchain import native` imports the module offchain.native
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__"
              and node.args and isinstance(node.args[0], ast.Constant)):
            names = [str(node.args[0].value)]
        found += [(node.lineno, n) for n in names if n in MODULES and n != module]
    return found


def runtime_imports(module: str) -> list[tuple[int, str]]:
    """imports(), plus the packages Python runs on the way: importing a.b.c runs a/b/__init__.py.
    A package whose __init__ imports nothing of ours adds no dependency and is left out."""
    found = []
    for line, target in imports(module):
        parts = target.split(".")
        packages = [".".join(parts[:k]) for k in range(2, len(parts))]
        found += [(line, p) for p in packages
                  if p in MODULES and not module.startswith(p + ".") and p != module and imports(p)]
        found.append((line, target))
    return found


#: Upward imports known today, each with why it is not fixed here; the test fails on any other, and
#: on an entry that no longer happens (delete it then).
KNOWN_UPWARD: dict[tuple[str, str], str] = {
    ("offchain.llm.commit", "offchain.llm.kernels"):
        "pack_mlp (the packed MLP weight leaf) is defined in llm/kernels/registry.py, and importing it runs "
        "the kernels package's __init__, which runs nodes in the VM (node layer). Ends when pack_mlp moves "
        "into llm or the VM runner out of that __init__; not moved here because the OpSpec work is "
        "rewriting the registry.",
}


def test_every_module_has_a_known_layer() -> None:
    assert {m: layer(m) for m in MODULES if layer(m) not in ORDER} == {}


def test_no_module_imports_a_higher_layer() -> None:
    upward = {(m, t): f"{MODULES[m].relative_to(ROOT)}:{line}: {layer(m)} imports {layer(t)} ({t})"
              for m in MODULES for line, t in runtime_imports(m) if ORDER.index(layer(t)) > ORDER.index(layer(m))}
    assert [why for key, why in upward.items() if key not in KNOWN_UPWARD] == []
    assert [key for key in KNOWN_UPWARD if key not in upward] == [], "fixed: remove it from KNOWN_UPWARD"


def test_protocol_is_a_leaf() -> None:
    assert imports("offchain.protocol") == []


def test_no_import_cycles() -> None:
    graph = {m: {t for _, t in imports(m)} for m in MODULES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycles.append(path[path.index(t):] + [t] if t in path else [m, t])
            elif t not in state:
                visit(t, [*path, t])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert cycles == []


def test_the_checker_sees_imports_wherever_they_are_written(tmp_path: Path) -> None:
    src = tmp_path / "probe.py"
    src.write_text("from typing import TYPE_CHECKING\n"
                   "if TYPE_CHECKING:\n    from offchain.chain.client import System\n"
                   "def f():\n    from offchain import cli\n    __import__('offchain.game.task')\n"
                   "from . import hashing\n")
    found = sorted(t for _, t in imports("offchain.merkle.probe", src))
    assert found == ["offchain.chain.client", "offchain.cli", "offchain.game.task", "offchain.merkle.hashing"]
    assert all(ORDER.index(layer(t)) > ORDER.index(layer("offchain.merkle.probe")) for t in found[:3])
    assert layer("offchain.llm.cli") == "cli" and layer("offchain.chain.client") == "chain"
