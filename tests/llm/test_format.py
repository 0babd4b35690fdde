"""Model file round trips, the weight commitment, and clear errors for damaged files."""

import json
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
