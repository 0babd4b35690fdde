"""offchain/evm.py's errors read as one line that names the contract's custom error."""

from offchain.evm import ContractRevert


def test_a_named_revert_prints_its_name_and_arguments() -> None:
    e = ContractRevert(bytes.fromhex("deadbeef") + bytes(32), "UnknownTask", (5,))
    assert str(e) == "reverted: UnknownTask(5)" and e.args == (5,) and e.name == "UnknownTask"
    assert str(ContractRevert(b"", "InvalidProof", (2, 77))) == "reverted: InvalidProof(2, 77)"


def test_an_unnamed_revert_prints_its_reason_or_its_data() -> None:
    assert str(ContractRevert(b"", None, ("mined but reverted",))) == "reverted: mined but reverted"
    assert str(ContractRevert(bytes.fromhex("01020304"), None, ())) == "reverted: 0x01020304"
