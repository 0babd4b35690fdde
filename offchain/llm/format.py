"""The model file: one file holding config, tokenizer, quantized tensors and tables (SPEC §3.5).

Layout (all integers big-endian):

    magic      8 bytes  b"OPMLMDL1"
    hlen       u32      length of the header
    header     hlen bytes of UTF-8 JSON: {"config", "tokenizer", "meta", "tensors": [
                   {"name", "dtype", "shape", "offset", "root"} ...], "weight_root"}
    data       each tensor's canonical bytes at `offset` (counted from the start of data)

The loader checks every tensor against the spec derived from the config (name, order, dtype,
shape), that its bytes lie inside the file, and that its bytes hash to the recorded root, and says
which tensor is wrong when one is.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from offchain.llm.commit import derived_roots, root_of, weight_root
from offchain.llm.model import NP_DTYPES, Config, IntModel, tensor_specs
from offchain.llm.ops import canonical_bytes
from offchain.merkle import tensor_root

MAGIC = b"OPMLMDL1"
ALIGN = 32  # tensors start on leaf boundaries, so a file can be mapped leaf by leaf


class ModelFormatError(ValueError):
    """A model file that cannot be read; the message names the file part or tensor at fault."""


def write_model(path: str | Path, model: IntModel) -> bytes:
    """Write `model` to `path`; returns its weight commitment (the full weight tree's root, with
    the derived leaves of SPEC §3.6)."""
    model.check()
    entries, blobs, roots, off = [], [], [], 0
    for spec in tensor_specs(model.config):
        b = canonical_bytes(model.tensors[spec.name])
        root = tensor_root(b)[0]
        roots.append(root)
        entries.append({"name": spec.name, "dtype": spec.dtype, "shape": list(spec.shape), "offset": off,
                        "root": "0x" + root.hex()})
        pad = -len(b) % ALIGN
        blobs.append(b + bytes(pad))
        off += len(b) + pad
    wroot = weight_root(roots + derived_roots(model))
    header = {"format": 1, "config": model.config.to_json(), "tokenizer": model.tokenizer,
              "meta": {k: v for k, v in model.meta.items() if k != "weight_root"},  # derived on load
              "tensors": entries, "weight_root": "0x" + wroot.hex()}
    hb = json.dumps(header, separators=(",", ":")).encode()
    hb += b" " * (-(len(MAGIC) + 4 + len(hb)) % ALIGN)
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack(">I", len(hb)) + hb)
        for blob in blobs:
            f.write(blob)
    return wroot


def _read_header(data: bytes, path: str) -> tuple[dict, int]:
    if len(data) < len(MAGIC) + 4 or data[: len(MAGIC)] != MAGIC:
        raise ModelFormatError(f"{path}: not an OPML model file (bad magic)")
    (hlen,) = struct.unpack(">I", data[len(MAGIC) : len(MAGIC) + 4])
    start = len(MAGIC) + 4
    if start + hlen > len(data):
        raise ModelFormatError(f"{path}: truncated inside the header ({len(data)} bytes, header ends at {start + hlen})")
    try:
        header = json.loads(data[start : start + hlen])
        header["config"], header["tensors"]  # noqa: B018 - presence check
    except (ValueError, KeyError, TypeError) as e:
        raise ModelFormatError(f"{path}: corrupted header ({e})") from None
    return header, start + hlen


def read_model(path: str | Path, verify: bool = True) -> IntModel:
    """Load a model file, checking shapes, bounds and (if `verify`) every tensor's root."""
    p = str(path)
    data = Path(path).read_bytes()
    header, base = _read_header(data, p)
    try:
        config = Config.from_json(header["config"])
        specs = tensor_specs(config)
    except (TypeError, ValueError) as e:
        raise ModelFormatError(f"{p}: bad config in header ({e})") from None
    entries = header["tensors"]
    if len(entries) != len(specs):
        # Name the tensor at fault (SPEC §3.5): the first one the config needs and the header lacks,
        # else the first one the header lists beyond the config's.
        listed = [e.get("name") for e in entries]
        missing = next((s.name for s in specs if s.name not in listed), None)
        if missing is not None:
            raise ModelFormatError(f"{p}: tensor {missing}: missing (header lists {len(entries)} tensors, "
                                   f"config {len(specs)})")
        raise ModelFormatError(f"{p}: tensor {listed[len(specs)]}: not in the config's {len(specs)} tensors")
    tensors: dict[str, np.ndarray] = {}
    roots = []
    prev_end, prev_name = base, "header"
    for spec, e in zip(specs, entries):
        if e.get("name") != spec.name:
            raise ModelFormatError(f"{p}: tensor {spec.name}: expected here, header has {e.get('name')!r}")
        if e.get("dtype") != spec.dtype or tuple(e.get("shape", ())) != spec.shape:
            raise ModelFormatError(f"{p}: tensor {spec.name}: expected {spec.dtype}{list(spec.shape)}, "
                                   f"header has {e.get('dtype')}{e.get('shape')}")
        lo = base + int(e["offset"])
        hi = lo + spec.nbytes
        if hi > len(data):
            raise ModelFormatError(f"{p}: truncated: tensor {spec.name} needs bytes [{lo}, {hi}) "
                                   f"but the file has {len(data)}")
        if lo < prev_end or any(data[prev_end:lo]):
            raise ModelFormatError(f"{p}: corrupted: overlapping tensors or non-zero padding after {prev_name}")
        prev_end, prev_name = hi, f"tensor {spec.name}"
        raw = data[lo:hi]
        root = bytes.fromhex(e["root"][2:])
        if verify:
            got = tensor_root(raw)[0]
            if got != root:
                raise ModelFormatError(f"{p}: corrupted: tensor {spec.name} hashes to 0x{got.hex()[:16]}…, "
                                       f"header says {e['root'][:18]}…")
        roots.append(root)
        be = ">i1" if spec.dtype == "i8" else ">i4"
        tensors[spec.name] = np.frombuffer(raw, dtype=be).astype(NP_DTYPES[spec.dtype]).reshape(spec.shape)
    if len(data) - prev_end >= ALIGN or any(data[prev_end:]):
        raise ModelFormatError(f"{p}: corrupted: trailing bytes or non-zero padding after {prev_name}")
    model = IntModel(config, tensors, header.get("tokenizer", {}), header.get("meta", {}))
    try:
        model.check()
    except ValueError as e:
        raise ModelFormatError(f"{p}: {e}") from None
    wroot = weight_root(roots + derived_roots(model))
    if header.get("weight_root") != "0x" + wroot.hex():
        raise ModelFormatError(f"{p}: corrupted: weight_root in header does not match the tensor roots")
    model.meta = dict(model.meta, weight_root="0x" + wroot.hex())
    return model


def model_weight_root(model: IntModel) -> bytes:
    """Weight commitment of an in-memory model (hashes every tensor and the derived leaves)."""
    return weight_root([root_of(model.tensors[s.name]) for s in tensor_specs(model.config)] + derived_roots(model))
