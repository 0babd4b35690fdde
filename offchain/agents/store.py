"""What an agent keeps on disk: only what is expensive or impossible to recompute (agent-local).

Every decision is re-derived from chain state on each tick; the store only saves native traces
(every node output of a task, the costly part on a large model), the random salts of the
submitter's commitments (SPEC §6.3: a lost salt is a result that can never be revealed) and a
journal of the agent's own transactions, so a daemon killed mid-game and restarted goes on with
nothing lost or repeated.
"""

from __future__ import annotations

import os
import pickle
import sqlite3
import time
from pathlib import Path

from offchain.agents.catalog import Entry
from offchain.game.task import AnyTask, Task
from offchain.llm.model import IntModel
from offchain.merkle import keccak


class Store:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path))
        self.db.execute("CREATE TABLE IF NOT EXISTS traces (key BLOB PRIMARY KEY, outputs BLOB, tokens BLOB)")
        self.db.execute("CREATE TABLE IF NOT EXISTS journal (at REAL, what TEXT, tx TEXT)")
        self.db.execute("CREATE TABLE IF NOT EXISTS salts (key TEXT PRIMARY KEY, salt BLOB)")
        self.db.commit()
        self._tasks: dict[bytes, AnyTask] = {}

    def task(self, entry: Entry, data: bytes, n_new: int) -> AnyTask:
        """The honest trace of a task (computed once, then read back from disk). A v1 task keeps
        every node output; a v2 task (a GGUF) its node roots, its outputs re-derived when needed."""
        key = keccak(entry.id + data + n_new.to_bytes(4, "big"))
        if key in self._tasks:
            return self._tasks[key]
        row = self.db.execute("SELECT outputs, tokens FROM traces WHERE key = ?", (key,)).fetchone()
        tk: AnyTask
        if row and entry.v2:
            from offchain.game.task_v2 import TaskV2

            assert not isinstance(entry.model, IntModel)
            tk = TaskV2(entry.model, entry.graph, data, n_new, tuple(pickle.loads(row[0])), tuple(pickle.loads(row[1])))
        elif row:
            assert isinstance(entry.model, IntModel)
            tk = Task(entry.model, entry.graph, data, n_new, tuple(pickle.loads(row[0])), tuple(pickle.loads(row[1])))
        else:
            prompt = data if entry.mlp else [int.from_bytes(data[k:k + 4], "big") for k in range(0, len(data), 4)]
            tk = self._traced(entry, prompt, n_new)
            kept = tk.leaves if entry.v2 else tk.outputs
            self.db.execute("INSERT OR REPLACE INTO traces VALUES (?, ?, ?)",
                            (key, pickle.dumps(list(kept)), pickle.dumps(list(tk.tokens))))
            self.db.commit()
        self._tasks[key] = tk
        return tk

    @staticmethod
    def _traced(entry: Entry, prompt: list[int] | bytes, n_new: int) -> AnyTask:
        """The native run, with a progress bar on an interactive terminal (a 7B task takes minutes)."""
        import sys

        if not sys.stderr.isatty() or entry.mlp:
            return entry.trace(prompt, n_new)
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            job = bar.add_task(f"tracing {entry.name}: {n_new} token(s), every node committed", total=n_new)
            return entry.trace(prompt, n_new, on_token=lambda _tok: bar.advance(job))

    def salt(self, key: str) -> bytes:
        """The commitment salt for `key` (registry and task): random once, then read back."""
        row = self.db.execute("SELECT salt FROM salts WHERE key = ?", (key,)).fetchone()
        if row:
            return bytes(row[0])
        salt = os.urandom(32)
        self.db.execute("INSERT INTO salts VALUES (?, ?)", (key, salt))
        self.db.commit()
        return salt

    def log(self, what: str, tx: str = "") -> None:
        self.db.execute("INSERT INTO journal VALUES (?, ?, ?)", (time.time(), what, tx))
        self.db.commit()

    def journal(self) -> list[tuple[float, str, str]]:
        return list(self.db.execute("SELECT at, what, tx FROM journal ORDER BY at"))
