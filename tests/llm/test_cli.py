"""`opml model info`, `opml infer` and the shipped models."""

import re
from pathlib import Path

import numpy as np
import pytest

from offchain.cli import main
from offchain.llm.cli import DEFAULT_MODEL
from offchain.llm.convert import convert_mlp
from offchain.llm.format import model_weight_root, read_model
from offchain.llm.kernels.mnist import DATA as MNIST  # the OPML demo data, committed under models/opml-mnist
from offchain.llm.runner import Runner, run_mlp

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_model_info_prints_the_weight_commitment(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["model", "info", str(DEFAULT_MODEL)]) == 0
    out = capsys.readouterr().out
    root = re.search(r"^weight_root (0x[0-9a-f]{64})$", out, re.M)
    assert root and root.group(1) == "0x" + model_weight_root(read_model(DEFAULT_MODEL)).hex()


def test_infer_defaults_to_the_shipped_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["infer", "--prompt", "ROMEO:\n", "--tokens", "48"]) == 0
    out = capsys.readouterr().out
    m = read_model(DEFAULT_MODEL)
    expect = bytes(Runner(m).generate(list(b"ROMEO:\n"), 48)).decode("utf-8", "replace")
    assert out == f"ROMEO:\n{expect}\nweight_root {m.meta['weight_root']}\n"


def test_shipped_model_writes_english_looking_text() -> None:
    m = read_model(DEFAULT_MODEL)
    text = bytes(Runner(m).generate(list(b"KING.\nWhat say you"), 120)).decode("utf-8", "replace")
    letters = sum(ch.isalpha() or ch in " \n,.;:'!?-" for ch in text)
    assert letters >= 0.95 * len(text)
    words = set(re.findall(r"[a-z]+", text.lower()))
    assert words & {"the", "and", "to", "of", "i", "my", "you", "is", "not", "me", "a", "that", "be", "lord"}


def test_bad_model_file_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = bytearray(DEFAULT_MODEL.read_bytes())
    data[-100] ^= 1  # inside the last tensor, the exp table
    bad = tmp_path / "bad.opml"
    bad.write_bytes(bytes(data))
    assert main(["model", "info", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "corrupted: tensor exp_table" in err
    data[-100] ^= 1
    data[-1] ^= 1  # the zero padding after it
    bad.write_bytes(bytes(data))
    assert main(["model", "info", str(bad)]) == 1
    assert "non-zero padding after tensor exp_table" in capsys.readouterr().err


def test_shipped_mnist_model_reads_7_and_is_reproducible() -> None:
    m = read_model(MODELS / "mnist.opml")
    img = np.frombuffer((MNIST / "input_7").read_bytes(), np.uint8)
    assert run_mlp(m, img)[1] == 7
    again = convert_mlp(MNIST / "mnist_model.state_dict", 1 / 255, 255, img[None, :])
    assert "0x" + model_weight_root(again).hex() == m.meta["weight_root"]


def test_convert_then_info_then_infer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from safetensors.numpy import save_file

    from .helpers import tiny_llama

    fm = tiny_llama(seed=2, vocab=256)  # a byte vocabulary, so infer can encode a prompt
    src = tmp_path / "tiny.safetensors"
    save_file(dict(fm.weights), str(src))
    out = tmp_path / "tiny.opml"
    assert main(["model", "convert", str(src), str(out), "--n-heads", "4", "--max-seq-len", "32"]) == 0
    root = re.search(r"weight_root (0x[0-9a-f]{64})", capsys.readouterr().out).group(1)
    assert main(["model", "info", str(out), "--tensors"]) == 0
    info = capsys.readouterr().out
    assert f"weight_root {root}" in info and "layers.1.feed_forward.w2.weight" in info
    assert main(["infer", "--model", str(out), "--prompt", "ab", "--tokens", "3"]) == 0
    assert capsys.readouterr().out.endswith(f"weight_root {root}\n")
    assert main(["model", "convert", str(src), str(tmp_path / "x.opml")]) == 1  # heads unknown
    assert "pass --n-heads" in capsys.readouterr().err


def test_convert_mlp_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mnist.opml"
    assert main(["model", "convert", str(MNIST / "mnist_model.state_dict"), str(out), "--mlp",
                 "--calib-input", str(MNIST / "input_7")]) == 0
    root = re.search(r"weight_root (0x[0-9a-f]{64})", capsys.readouterr().out).group(1)
    assert root == read_model(MODELS / "mnist.opml").meta["weight_root"]
