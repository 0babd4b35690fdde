"""Solidity and Python must agree on every shared value: everything in `offchain.protocol`.

Every int constant in protocol.py must be declared in `src/` under the same name with the same
value, except the few derived on the Python side only (PYTHON_ONLY, each with its reason); every
enum must list the Solidity enum's members in the same order. The old homes (constants.py,
node/layout.py, agents/views.py, mipsemu, llm.model) must hand out protocol's objects, not copies.
"""

import re
from enum import IntEnum
from pathlib import Path

from offchain import constants, protocol
from offchain.chain import views
from offchain.llm import model
from offchain.mipsemu import decode, state
from offchain.node import graph, layout

SRC = Path(__file__).resolve().parent.parent / "src"
_DECL = re.compile(r"\b(?:uint\d*|int\d*|bytes\d+|address)\s+(?:internal|public|private)\s+constant\s+(\w+)\s*=\s*([^;]+);")
#: protocol.py values with no Solidity declaration of that name, and why.
PYTHON_ONLY = {
    "REGION_BYTES": "derived (LEAF_BYTES << REGION_HEIGHT); src/ declares no constant of this name",
    "HEADER_BASE": "derived from HEADER_REGION; src/ declares no constant of this name",
    "OUTPUT_BASE": "derived from OUTPUT_REGION; src/ declares no constant of this name",
    **{n: "a region number of the node ABI (SPEC §4); src/ declares no constant of this name"
       for n in ("PROGRAM_REGION", "HEADER_REGION", "FIRST_INPUT_REGION", "OUTPUT_REGION")},
    **{n: "a kernel exit code (SPEC §4.3), used by the kernels' C sources; the contracts only compare states"
       for n in ("EXIT_OK", "EXIT_BAD_HEADER", "EXIT_BAD_INPUT_LENGTH", "EXIT_BAD_OUTPUT_LENGTH", "EXIT_BAD_PARAM")},
}
ENUMS = {"Stage": protocol.Stage, "TaskStatus": protocol.TaskStatus, "ResultStatus": protocol.ResultStatus}


def _evaluate(expr: str, known: dict[str, int]) -> int | None:
    if expr.strip() in known:  # another constant's name
        return known[expr.strip()]
    expr = expr.strip().replace("_", "")
    expr = re.sub(r"\buint\d*\((\w+)\)", r"\1", expr)
    if re.fullmatch(r"0x[0-9a-fA-F]+|\d+", expr):
        return int(expr, 0)
    if m := re.fullmatch(r"(\d+)\s*<<\s*(\d+)", expr):
        return int(m[1]) << int(m[2])
    if m := re.fullmatch(r"(\d+)(?:\.(\d+))?\s*ether", expr):  # a decimal number of ether, in wei
        frac = m[2] or ""
        return (int(m[1] + frac) * 10 ** 18) // 10 ** len(frac)
    return None


def _solidity_constants() -> dict[str, list[tuple[str, int]]]:
    found: dict[str, list[tuple[str, int]]] = {}
    decls = [(path.name, name, expr) for path in SRC.rglob("*.sol") for name, expr in _DECL.findall(path.read_text())]
    known: dict[str, int] = {}
    for _ in range(2):  # a second pass resolves constants defined as another constant's name
        for file, name, expr in decls:
            value = _evaluate(expr, known)
            if value is not None and (file, value) not in found.get(name, []):
                found.setdefault(name, []).append((file, value))
                known.setdefault(name, value)
    return found


def _protocol_ints() -> dict[str, int]:
    return {n: v for n, v in vars(protocol).items() if n.isupper() and isinstance(v, int) and not isinstance(v, IntEnum)}


def _solidity_enums() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in SRC.rglob("*.sol"):
        for name, body in re.findall(r"\benum\s+(\w+)\s*\{([^}]*)\}", path.read_text()):
            out[name] = [m.strip() for m in body.split(",") if m.strip()]
    return out


def _snake(camel: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel).upper()


def test_every_protocol_constant_has_the_same_value_in_solidity() -> None:
    sol = _solidity_constants()
    ints = _protocol_ints()
    missing = sorted(n for n in ints if n not in sol and n not in PYTHON_ONLY)
    assert missing == [], f"in protocol.py but declared nowhere in src/ (add to PYTHON_ONLY with a reason?): {missing}"
    assert sorted(n for n in PYTHON_ONLY if n in sol) == [], "PYTHON_ONLY names that src/ now declares"
    for name, value in ints.items():
        for file, sol_value in sol.get(name, []):
            assert sol_value == value, f"{file}: {name} = {sol_value}, protocol.py says {value}"


def test_every_protocol_enum_has_the_solidity_order() -> None:
    sol = _solidity_enums()
    for name, enum in ENUMS.items():
        assert [_snake(m) for m in sol[name]] == [e.name for e in enum], name
        assert [e.value for e in enum] == list(range(len(enum))), name


def test_the_old_homes_hand_out_protocols_values() -> None:
    for name in constants.__all__:
        assert getattr(constants, name) == getattr(protocol, name)
    for name in ("ABI_VERSION", "MAX_INPUTS", "MAX_PARAMS", "HEADER_FIXED_WORDS", "OUTPUT_REGION", "EXIT_BAD_PARAM"):
        assert getattr(layout, name) == getattr(protocol, name)
    assert layout.Header is protocol.Header
    assert (views.Stage, views.TaskStatus, views.ResultStatus) == (protocol.Stage, protocol.TaskStatus, protocol.ResultStatus)
    assert (model.ARCH_LLAMA, model.ARCH_MLP) == (protocol.ARCH_LLAMA, protocol.ARCH_MLP)
    assert graph.DESCRIPTOR_FIXED_WORDS == protocol.DESC_FIXED_WORDS
    assert [int(r) for r in graph.Ref] == [protocol.REF_SAME_TOKEN, protocol.REF_PREV_TOKEN, protocol.REF_WEIGHT,
                                           protocol.REF_TOKEN_IN]
    assert (decode.F_UNDEFINED, decode.F_DIV_ZERO) == (protocol.FAULT_INVALID_INSTRUCTION, protocol.FAULT_DIVIDE_BY_ZERO)
    assert (state.HEAP_START, state.STACK_TOP, state.BRK_START, state.STATE_BYTES) == \
        (protocol.HEAP_START, protocol.STACK_TOP, protocol.BRK_START, protocol.STATE_BYTES)


def test_the_packed_state_puts_each_field_at_its_offset() -> None:
    vm = state.State()
    vm.pc, vm.next_pc, vm.heap, vm.step_count = 0x11223344, 0x55667788, 0x99AABBCC, 0x0102030405060708
    vm.exited, vm.exit_code = True, 0xF3
    vm.preimage_offset = 0xCAFEBABE
    packed = vm.pack()
    assert len(packed) == protocol.STATE_BYTES
    word = lambda off, n=4: int.from_bytes(packed[off:off + n], "big")  # noqa: E731
    assert word(protocol.OFF_PC) == 0x11223344 and word(protocol.OFF_NEXT_PC) == 0x55667788
    assert word(protocol.OFF_HEAP) == 0x99AABBCC and word(protocol.OFF_STEP, 8) == 0x0102030405060708
    assert word(protocol.OFF_PREIMAGE_OFFSET) == 0xCAFEBABE
    assert packed[protocol.OFF_EXITED] == 1 and packed[protocol.OFF_EXIT_CODE] == 0xF3
    assert word(protocol.OFF_REGS + 4 * 29) == protocol.STACK_TOP
    assert state.hash_packed(packed)[0] == protocol.STATUS_EXIT_OTHER
