"""Logs are filtered by topic at the node: the contract client turns `events(name, **where)` into
eth_getLogs topics for the event's indexed fields, and filters a receipt's logs the same way."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode

from offchain.chain.client import Bound
from offchain.evm import Artifact

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
