"""Model file round trips, the weight commitment, and clear errors for damaged files."""

import json
import re
import struct
from pathlib import Path

import numpy as np
import pytest

from offchain.llm.format import MAGIC, ModelFormatError, model_weight_root, read_model, write_model
from offchain.llm.model import tensor_specs
from offchain.llm.quant import quantize_llama
from offchain.merkle import tensor_root

from .helpers import tiny_llama


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fmt") / "tiny.opml"
    write_model(path, quantize_llama(tiny_llama(), list(range(40))))
    return path


def test_round_trip_keeps_every_tensor(model_file: Path) -> None:
    m = read_model(model_file)
    again = model_file.with_name("again.opml")
    root = write_model(again, m)
    assert again.read_bytes() == model_file.read_bytes()
    assert "0x" + root.hex() == m.meta["weight_root"]


def test_weight_root_is_the_tree_of_tensor_roots(model_file: Path) -> None:
    m = read_model(model_file)
    specs = tensor_specs(m.config)
    roots = []
    for s in specs:
        be = m[s.name].astype(">i1" if s.dtype == "i8" else ">i4").tobytes()
        roots.append(tensor_root(be)[0])
    # leaves are the 32-byte tensor roots, zero-padded to a power of two, hashed like memory
    assert tensor_root(b"".join(roots))[0] == model_weight_root(m)
    assert "0x" + model_weight_root(m).hex() == m.meta["weight_root"]
    assert specs[0].name == "config" and m["config"][0] == 1


def _header(data: bytes) -> tuple[dict, int]:
    (n,) = struct.unpack(">I", data[8:12])
    return json.loads(data[12 : 12 + n]), 12 + n


def test_truncated_file_names_the_tensor(model_file: Path, tmp_path: Path) -> None:
    data = model_file.read_bytes()
    bad = tmp_path / "cut.opml"
    bad.write_bytes(data[: len(data) - 700])
    header, base = _header(data)
    cut = len(data) - 700
    victim = next(e["name"] for e in header["tensors"]
                  if base + e["offset"] + int(np.prod(e["shape"])) * (1 if e["dtype"] == "i8" else 4) > cut)
    with pytest.raises(ModelFormatError, match=rf"truncated: tensor {victim} "):
        read_model(bad)


def test_flipped_byte_names_the_tensor(model_file: Path, tmp_path: Path) -> None:
    data = bytearray(model_file.read_bytes())
    header, base = _header(bytes(data))
    e = next(e for e in header["tensors"] if e["name"] == "layers.1.feed_forward.w3.weight")
    data[base + e["offset"] + 5] ^= 0x40
    bad = tmp_path / "flip.opml"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFormatError, match=r"corrupted: tensor layers\.1\.feed_forward\.w3\.weight "):
        read_model(bad)


def test_mis_shaped_tensor_names_the_tensor(model_file: Path, tmp_path: Path) -> None:
    data = model_file.read_bytes()
    header, base = _header(data)
    for e in header["tensors"]:
        if e["name"] == "layers.0.attention.wk.weight":
            e["shape"] = [e["shape"][1], e["shape"][0]]
    hb = json.dumps(header).encode()
    bad = tmp_path / "shape.opml"
    bad.write_bytes(MAGIC + struct.pack(">I", len(hb)) + hb + data[base:])
    with pytest.raises(ModelFormatError, match=r"tensor layers\.0\.attention\.wk\.weight: expected i8\[8, 16\]"):
        read_model(bad)


def test_not_a_model_and_broken_header(tmp_path: Path) -> None:
    p = tmp_path / "x.opml"
    p.write_bytes(b"hello world, not a model")
    with pytest.raises(ModelFormatError, match="bad magic"):
        read_model(p)
    p.write_bytes(MAGIC + struct.pack(">I", 5) + b"{oops")
    with pytest.raises(ModelFormatError, match="corrupted header"):
        read_model(p)


def _rewritten(data: bytes, entries=None, patch: tuple[str, bytes] | None = None, fix_roots: bool = True) -> bytes:  # type: ignore[no-untyped-def]
    """`data` with tensor `patch[0]`'s bytes replaced (same length) and/or the tensor list edited by
    `entries(list) -> list`; with `fix_roots` every recorded root and weight_root are recomputed, so
    only the edit itself is wrong."""
    header, base = _header(data)
    body = bytearray(data[base:])
    by_name = {e["name"]: e for e in header["tensors"]}
    if patch:
        e = by_name[patch[0]]
        body[e["offset"] : e["offset"] + len(patch[1])] = patch[1]
    if fix_roots:
        roots = []
        for e in header["tensors"]:
            n = int(np.prod(e["shape"])) * (1 if e["dtype"] == "i8" else 4)
            root = tensor_root(bytes(body[e["offset"] : e["offset"] + n]))[0]
            e["root"] = "0x" + root.hex()
            roots.append(root)
        header["weight_root"] = "0x" + tensor_root(b"".join(roots))[0].hex()
    if entries:
        header["tensors"] = entries(header["tensors"])
    hb = json.dumps(header).encode()
    return MAGIC + struct.pack(">I", len(hb)) + hb + bytes(body)


def _rejects(tmp_path: Path, data: bytes, pattern: str) -> str:
    bad = tmp_path / "bad.opml"
    bad.write_bytes(data)
    with pytest.raises(ModelFormatError, match=pattern) as e:
        read_model(bad)
    assert "\n" not in str(e.value), "one line"
    return str(e.value)


def test_the_rewriting_helper_alone_keeps_the_file_valid(model_file: Path, tmp_path: Path) -> None:
    # the rejections below come from their one edit, not from the re-encoding
    ok = tmp_path / "ok.opml"
    ok.write_bytes(_rewritten(model_file.read_bytes()))
    assert read_model(ok).meta["weight_root"] == read_model(model_file).meta["weight_root"]


@pytest.mark.parametrize("victim", ["tok_embeddings.rq", "layers.1.attention.wv.weight", "exp_table"])
def test_a_missing_tensor_is_named(model_file: Path, tmp_path: Path, victim: str) -> None:
    data = _rewritten(model_file.read_bytes(), entries=lambda es: [e for e in es if e["name"] != victim])
    _rejects(tmp_path, data, rf"tensor {re.escape(victim)}: missing")


def test_an_extra_tensor_is_named(model_file: Path, tmp_path: Path) -> None:
    extra = {"name": "bonus.weight", "dtype": "i8", "shape": [1], "offset": 0, "root": "0x" + "00" * 32}
    _rejects(tmp_path, _rewritten(model_file.read_bytes(), entries=lambda es: es + [extra]),
             r"tensor bonus\.weight: not in the config's")


def test_tensors_out_of_order_are_named(model_file: Path, tmp_path: Path) -> None:
    def swap(es: list) -> list:  # type: ignore[type-arg]
        i = next(i for i, e in enumerate(es) if e["name"] == "layers.0.attention.wk.weight")
        return es[:i] + [es[i + 1], es[i]] + es[i + 2 :]

    _rejects(tmp_path, _rewritten(model_file.read_bytes(), entries=swap),
             r"tensor layers\.0\.attention\.wk\.weight: expected here, header has 'layers\.0\.attention\.wk\.rq'")


def test_the_wrong_dtype_is_named(model_file: Path, tmp_path: Path) -> None:
    def retype(es: list) -> list:  # type: ignore[type-arg]
        for e in es:
            if e["name"] == "norm.weight":
                e["dtype"] = "i8"
        return es

    _rejects(tmp_path, _rewritten(model_file.read_bytes(), entries=retype),
             r"tensor norm\.weight: expected i32\[16\], header has i8\[16\]")


@pytest.mark.parametrize("name", ["layers.0.attention.softmax.rq", "layers.1.feed_forward.w2.rq", "output.rq"])
@pytest.mark.parametrize("pair", [(-1, 20), (1 << 30, 0), (1 << 30, 63), (1 << 30, -5)])
def test_a_requant_pair_out_of_range_is_named(model_file: Path, tmp_path: Path, name: str, pair: tuple[int, int]) -> None:
    word = struct.pack(">ii", *pair)
    msg = _rejects(tmp_path, _rewritten(model_file.read_bytes(), patch=(name, word)),
                   rf"tensor {re.escape(name)}: requant pair outside m >= 0, 1 <= s <= 62")
    assert msg.startswith(str(tmp_path))


def test_the_boundary_requant_pairs_are_accepted(model_file: Path, tmp_path: Path) -> None:
    for pair in [(0, 1), ((1 << 31) - 1, 62)]:
        ok = tmp_path / "edge.opml"
        ok.write_bytes(_rewritten(model_file.read_bytes(), patch=("output.rq", struct.pack(">ii", *pair))))
        assert read_model(ok)["output.rq"][0].tolist() == list(pair)


def test_a_weight_root_mismatch_is_named(model_file: Path, tmp_path: Path) -> None:
    data = model_file.read_bytes()
    header, base = _header(data)
    root = bytearray.fromhex(header["weight_root"][2:])
    root[31] ^= 1
    header["weight_root"] = "0x" + root.hex()
    hb = json.dumps(header).encode()
    _rejects(tmp_path, MAGIC + struct.pack(">I", len(hb)) + hb + data[base:],
             r"corrupted: weight_root in header does not match the tensor roots")


def test_a_wrong_recorded_root_is_named_even_when_the_bytes_are_intact(model_file: Path, tmp_path: Path) -> None:
    def wrong(es: list) -> list:  # type: ignore[type-arg]
        for e in es:
            if e["name"] == "rope_sin":
                e["root"] = "0x" + "11" * 32
        return es

    _rejects(tmp_path, _rewritten(model_file.read_bytes(), entries=wrong), r"corrupted: tensor rope_sin hashes to")
