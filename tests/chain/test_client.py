"""The contract client without a chain: logs are filtered by topic at the node (`events(name,
**where)` becomes eth_getLogs topics for the event's indexed fields, and a receipt's logs are
filtered the same way), and structs are read by their ABI field names into typed views."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode

from offchain.chain.client import Bound, DisputeGame
from offchain.chain.views import ResultStatus, ResultView, Stage, snake
from offchain.evm import Artifact, _canonical_type

ADDRESS = "0x" + "11" * 20
ME = "0x" + "ab" * 20


class Backend:
    sender = ME

    def __init__(self) -> None:
        self.asked: list[tuple[str, list[Any]]] = []

    def request(self, method: str, params: list[Any]) -> Any:
        self.asked.append((method, params))
        return []


def word(t: str, v: Any) -> str:
    return "0x" + encode([t], [v]).hex()


def _log(registry: Bound, task_id: int, model: bytes) -> dict[str, Any]:
    return {"address": ADDRESS, "blockNumber": "0x3", "topics": [registry.topic("TaskCreated"), word("uint256", task_id),
            word("address", ME), word("bytes32", model)],
            "data": "0x" + encode(["bytes", "uint32", "bytes32", "uint128"], [b"in", 2, bytes(32), 5]).hex()}


@pytest.fixture
def registry() -> Bound:
    return Bound(Backend(), Artifact.load("TaskRegistry"), ADDRESS)  # type: ignore[arg-type]


def test_indexed_fields_become_topics_in_their_order(registry: Bound) -> None:
    a, b = bytes([1]) * 32, bytes([2]) * 32
    assert registry.topics("TaskCreated", {}) == [registry.topic("TaskCreated")]
    assert registry.topics("TaskCreated", {"taskId": 7}) == [registry.topic("TaskCreated"), word("uint256", 7)]
    assert registry.topics("TaskCreated", {"model": [a, b]}) == [registry.topic("TaskCreated"), None, None,
                                                                 [word("bytes32", a), word("bytes32", b)]]
    registry.events("ResultCommitted", 12, submitter=ME)
    method, [query] = registry.backend.asked[-1]  # type: ignore[attr-defined]
    assert method == "eth_getLogs" and query["fromBlock"] == "0xc" and query["address"] == ADDRESS
    assert query["topics"] == [registry.topic("ResultCommitted"), None, None, word("address", ME)]


@pytest.mark.parametrize("where,message", [({"reward": 5}, "TaskCreated has no indexed field reward"),
                                           ({"model": []}, "no value of model to match")])
def test_a_filter_the_node_cannot_apply_is_refused(registry: Bound, where: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        registry.events("TaskCreated", **where)


def test_a_receipts_logs_are_filtered_the_same_way(registry: Bound) -> None:
    receipt = {"logs": [_log(registry, 1, bytes(32)), _log(registry, 2, bytes([9]) * 32),
                        {**_log(registry, 2, bytes(32)), "address": "0x" + "22" * 20}]}
    assert [e["taskId"] for e in registry.events("TaskCreated", receipt=receipt)] == [1, 2]
    assert [e["taskId"] for e in registry.events("TaskCreated", receipt=receipt, taskId=2)] == [2]
    assert [e["taskId"] for e in registry.events("TaskCreated", receipt=receipt, model=[bytes([9]) * 32, bytes([8]) * 32])] == [2]
    [e] = registry.events("TaskCreated", receipt=receipt, taskId=1)
    assert (e["input"], e["newTokens"], e["requester"], e["blockNumber"]) == (b"in", 2, ME, 3)


class Returns(Backend):
    """A node whose eth_call returns `out`."""

    def __init__(self, out: bytes) -> None:
        super().__init__()
        self.out = out

    def request(self, method: str, params: list[Any]) -> Any:
        super().request(method, params)
        return "0x" + self.out.hex()


def _struct_type(artifact: Artifact, fn: str) -> tuple[str, list[str]]:
    [out] = artifact.functions[fn]["outputs"]
    return _canonical_type(out), [c["name"] for c in out["components"]]


def test_a_struct_is_decoded_by_its_abi_field_names() -> None:
    art = Artifact.load("DisputeGame")
    t, names = _struct_type(art, "game")
    values = {n: 0 for n in names} | {"midPending": False, "stage": 3, "level": 1, "lo": 41, "hi": 42, "node": 150, "loHash": bytes([1]) * 32,
                                      "challenger": ME, "submitter": "0x" + "cd" * 20, "hiHash": bytes(32),
                                      "midHash": bytes(32)}
    out = encode([t], [tuple(values[n] for n in names)])
    g = DisputeGame(Returns(out), art, ADDRESS).game(9)  # type: ignore[arg-type]
    assert (g.stage, g.level, g.lo, g.hi, g.node, g.lo_hash) == (Stage.STEP, 1, 41, 42, 150, bytes([1]) * 32)
    assert g.challenger.lower() == ME


def test_a_view_refuses_a_struct_whose_fields_it_does_not_know() -> None:
    fields = {"taskId": 1, "submitter": ME, "status": 1, "submittedAt": 2, "liveGames": 0, "committedBlock": 3,
              "committedAt": 4, "firstLive": 0, "commitment": bytes(32), "finalState": bytes(32), "tokensHash": bytes(32)}
    assert ResultView.of(fields).status == ResultStatus.PENDING and ResultView.of(fields).submitted_at == 2
    renamed = {("submittedTime" if k == "submittedAt" else k): v for k, v in fields.items()}
    with pytest.raises(ValueError, match=r"unknown fields \['submitted_time'\], missing fields \['submitted_at'\]"):
        ResultView.of(renamed)
    assert snake("midPending") == "mid_pending" and snake("loHash") == "lo_hash" and snake("node") == "node"


def test_only_a_view_returning_one_struct_is_read_as_one(registry: Bound) -> None:
    with pytest.raises(TypeError, match="TaskRegistry.taskCount does not return one struct"):
        registry.struct("taskCount")
