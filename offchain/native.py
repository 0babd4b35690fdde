"""Small C helpers compiled on first use with the host compiler, cached by content hash.

Each helper has a pure-Python equivalent; `load` returns None when no compiler works, and callers
fall back. The cache lives in $XDG_CACHE_HOME/opml (or ~/.cache/opml).
"""

import ctypes
import hashlib
import os
import subprocess
import sysconfig
import tempfile
from pathlib import Path

_loaded: dict[Path, ctypes.CDLL | None] = {}


def load(src: Path, flags: tuple[str, ...] = ("-O2",), python_api: bool = False) -> ctypes.CDLL | None:
    """The shared library built from `src`, or None if it cannot be built or loaded.

    `python_api`: the helper takes Python objects (it includes Python.h), so it is built against
    this interpreter's headers and loaded with ctypes.PyDLL, which keeps the GIL held during calls
    and raises the exception a call sets."""
    if src in _loaded:
        return _loaded[src]
    if python_api:
        include = sysconfig.get_paths()["include"]
        if not (Path(include) / "Python.h").exists():  # no headers here: callers fall back
            _loaded[src] = None
            return None
        flags = (*flags, f"-I{include}")
    digest = hashlib.sha256(src.read_bytes() + " ".join(flags).encode()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "opml"
    so = cache / f"{src.stem}-{digest}.so"
    lib: ctypes.CDLL | None
    try:
        if not so.exists():
            cache.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(suffix=".so", dir=cache)
            os.close(fd)
            cc = os.environ.get("CC", "cc")
            subprocess.run([cc, *flags, "-shared", "-fPIC", "-o", tmp, str(src)], check=True, capture_output=True)
            os.replace(tmp, so)  # atomic: concurrent builders never see a half-written library
        lib = (ctypes.PyDLL if python_api else ctypes.CDLL)(str(so))
    except (OSError, subprocess.CalledProcessError):
        lib = None
    _loaded[src] = lib
    return lib
