"""The requester's side: post a task, and read its outcome back from the chain."""

from __future__ import annotations

from dataclasses import dataclass

from offchain.agents.catalog import Entry
from offchain.chain.client import System, head_timestamp
from offchain.chain.views import ResultStatus, ResultView, TaskStatus, TaskView
from offchain.game.bounds import bonds_reason, min_clock, min_window
from offchain.game.tokens import task_input


@dataclass(frozen=True)
class Terms:
    """A task's economic and timing terms (bounded by TaskRegistry, SPEC §6.3). A window or
    clock of 0 means the registry's floor for the task (`offchain/game/bounds.py`)."""

    reward: int = 10**17
    submitter_bond: int = 10**17
    challenger_bond: int = 5 * 10**16
    window: int = 0
    clock: int = 0
    deadline_in: int = 3600
    #: k submitters for the quorum fast path (SPEC §6.11); 0: an ordinary task
    quorum: int = 0


def task_nodes(entry: Entry, data: bytes, n_new: int) -> int:
    """n = (P + N − 1)·n_f: an MLP's input is one position, a LLaMA prompt P tokens."""
    p = 1 if entry.mlp else len(data) // 4
    return (p + n_new - 1) * entry.spec.nF


def timing(entry: Entry, data: bytes, n_new: int, terms: Terms) -> tuple[int, int]:
    """The (window, clock) to post: the terms', or the floors when 0; a one-line ValueError
    for terms below the floors createTask enforces."""
    n, k = task_nodes(entry, data, n_new), entry.spec.stepCap
    floor_w, floor_c = min_window(n, k), min_clock(n, k)
    window, clock = terms.window or floor_w, terms.clock or floor_c
    if window < floor_w:
        raise ValueError(f"a {window} s window is below this task's floor of {floor_w} s (re-running {n} nodes, SPEC §6.3)")
    if clock < floor_c:
        raise ValueError(f"a {clock} s clock is below this task's floor of {floor_c} s (one inclusion per move, SPEC §6.3)")
    return window, clock


def encode_input(entry: Entry, prompt: str | bytes) -> bytes:
    """The task's canonical input: a LLaMA's prompt as i32 tokens (a GGUF's: the user message in
    the file's chat template), an MLP's raw bytes."""
    if entry.v2:
        from offchain.llm.v2.session import Request, input_ids

        text = prompt.decode() if isinstance(prompt, bytes) else prompt
        ids = input_ids(entry.tokenizer, Request(chat=text))
        return task_input(ids)
    if entry.mlp:
        data = prompt if isinstance(prompt, bytes) else prompt.encode()
        if len(data) != entry.spec.inputBytes:
            raise ValueError(f"{entry.name} takes exactly {entry.spec.inputBytes} input bytes, got {len(data)}")
        return data
    text = prompt.decode() if isinstance(prompt, bytes) else prompt
    tokens = entry.tokenizer.encode(text)
    if not tokens:
        raise ValueError("the prompt is empty")
    return task_input(tokens)


def decode_tokens(entry: Entry, tokens: list[int]) -> str:
    if entry.mlp:
        return f"class {tokens[0]}"
    if entry.v2:  # the answer up to the end-of-generation token, as `opml infer` prints it
        tok = entry.tokenizer
        cut = next((k for k, t in enumerate(tokens) if tok.is_eog(t)), len(tokens))
        return str(tok.decode(tokens[:cut], special=False))
    return str(entry.tokenizer.decode(tokens))


def validate(entry: Entry, data: bytes, n_new: int) -> None:
    """What createTask would refuse, as a one-line ValueError before anything is sent (SPEC §6.3)."""
    if n_new < 1:
        raise ValueError("a task generates at least one token")
    if entry.mlp:
        if n_new != 1:
            raise ValueError(f"{entry.name} is an MLP: a task has exactly one result (--tokens 1)")
        return
    p = len(data) // 4
    if p + n_new - 1 > entry.spec.context:
        raise ValueError(f"a prompt of {p} tokens plus {n_new} new ones exceeds {entry.name}'s context of {entry.spec.context}")


def post_task(system: System, entry: Entry, data: bytes, n_new: int, terms: Terms = Terms()) -> int:
    """createTask; returns the task id. Bad input is refused with a one-line ValueError first."""
    validate(entry, data, n_new)
    why = bonds_reason(terms.submitter_bond, terms.challenger_bond)
    if why:
        raise ValueError(why)
    window, clock = timing(entry, data, n_new, terms)
    if terms.quorum and not 2 <= terms.quorum <= 16:
        raise ValueError(f"a quorum is 2 to 16 submitters, not {terms.quorum}")
    args = (entry.id, data, n_new, head_timestamp(system.tasks.backend) + terms.deadline_in,
            window, clock, terms.submitter_bond, terms.challenger_bond)
    if terms.quorum:
        receipt = system.tasks.send("createQuorumTask", *args, terms.quorum, value=terms.reward)
    else:
        receipt = system.tasks.send("createTask", *args, value=terms.reward)
    return int(system.tasks.events("TaskCreated", receipt=receipt)[0]["taskId"])


def outcome(system: System, task_id: int) -> tuple[TaskView, list[tuple[int, ResultView, bytes]]]:
    """The task and every revealed result, with its tokens (from the ResultRevealed events)."""
    tv = system.tasks.task(task_id)
    results = []
    for e in system.tasks.events("ResultRevealed", taskId=task_id):
        results.append((e["resultId"], system.tasks.result(e["resultId"]), e["tokens"]))
    return tv, results


def soft_final(system: System, task_id: int) -> dict | None:
    """The task's SoftFinal event (SPEC §6.11) if its claim still stands, else None."""
    ok, _claim = system.tasks.call("softFinal", task_id)
    if not ok:
        return None
    return system.tasks.events("SoftFinal", taskId=task_id)[0]


def settled(system: System, task_id: int) -> bool:
    """Whether the task has results and none of them can still change: each is decided, or
    pending with no live game (a finalize or a window away)."""
    _, results = outcome(system, task_id)
    return bool(results) and all(r.status != ResultStatus.PENDING or r.live_games == 0 for _, r, _ in results)


def finalized_tokens(system: System, task_id: int) -> list[int] | None:
    tv, results = outcome(system, task_id)
    if tv.status != TaskStatus.FINALIZED:
        return None
    for rid, r, tokens in results:
        if rid == tv.winning_result and r.status == ResultStatus.FINALIZED:
            return [int.from_bytes(tokens[k:k + 4], "big") for k in range(0, len(tokens), 4)]
    return None
