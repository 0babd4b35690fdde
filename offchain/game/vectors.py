"""A whole two-level game between a lying submitter and an honest challenger, as one JSON object
(the format forge replays, test/vectors/game_*.json)."""

from __future__ import annotations

from offchain.game.bisect import play
from offchain.game.model import ModelSpec, model_spec
from offchain.game.task import AnyTask, Claims, trace, wrong_output, wrong_output_as
from offchain.game.tokens import input_root, tokens_bytes
from offchain.game.transition import check, link
from offchain.llm.model import IntModel
from offchain.llm.tokenizer import Tokenizer
from offchain.mipsemu import hash_packed
from offchain.node.graph import build_graph, token_bytes

#: The shipped model's game: prompt, new tokens, and the node that lies (at the last position).
SHAKESPEARE_PROMPT, SHAKESPEARE_NEW, SHAKESPEARE_LIE = "ROMEO:", 4, "layers.1.q"
#: The SmolLM2 game (spec v2): a chat question, new tokens, and the node that lies at the last position.
SMOLLM2_CHAT, SMOLLM2_NEW, SMOLLM2_LIE = "What is the capital of France?", 3, "blk.7.ffn_residual"
#: The MNIST game: the digit the lying submitter claims for input_7.
MNIST_CLAIM = 3


def _hex(b: bytes) -> str:
    return "0x" + b.hex()


def game_vector(task: AnyTask, liar: Claims, uri: str, spec: ModelSpec | None = None) -> dict:
    """Play the game of `liar` (the submitter) against the honest challenger, asserting at each
    level that the honest side wins, and return every move and proof (`spec`: the model's record,
    default the v1 one of `task.model`)."""
    spec = spec or model_spec(task.model, task.graph, uri)
    honest = task.honest()
    if liar.final_state == honest.final_state:
        raise ValueError("the liar's S_n is honest: there is no phase-2 dispute to play")
    p2 = play(0, task.n, liar.state, honest.state)
    node = p2.lo
    lk = link(task, liar, node)
    run, final, proof = lk.run, lk.final, lk.proof
    start, fake = check(spec, input_root(task.input), task.n_prompt, node, liar.state(node), liar.state(node + 1),
                        proof)
    if start != run.state_hash(0):
        raise AssertionError("the derived start state differs from the emulator's")
    steps = final.step_count
    if steps > 1 << spec.stepCap:
        raise AssertionError(f"node {node} runs {steps} steps, above the step cap 2^{spec.stepCap}")

    def liar_steps(k: int) -> bytes:
        return fake if k >= steps else run.state_hash(k)

    p1 = play(0, steps, liar_steps, run.state_hash)
    w = run.witness(p1.lo)
    wins = w.post_hash != liar_steps(p1.hi)
    if not wins or hash_packed(w.pre_state) != liar_steps(p1.lo):
        raise AssertionError("the honest challenger does not win the final step")
    return {
        "model": spec.to_json(),
        "input": _hex(task.input),
        "N": task.n_new,
        "tokens": _hex(tokens_bytes(liar.tokens)),
        "finalState": _hex(liar.final_state),
        "honestTokens": _hex(tokens_bytes(honest.tokens)),
        "honestFinalState": _hex(honest.final_state),
        "phase2": {"midHashes": [_hex(h) for h in p2.mid_hashes], "agrees": list(p2.agrees)},
        "node": node,
        "transition": proof.to_json(),
        "phase1": {"midHashes": [_hex(h) for h in p1.mid_hashes], "agrees": list(p1.agrees)},
        "step": {"preState": _hex(w.pre_state), "proof": _hex(w.proof), "proofCompact": _hex(w.proof_compact),
                 "lo": p1.lo},
        "expectedStartHash": _hex(start),
        "challengerWins": wins,
    }


def shakespeare_vector(model: IntModel, uri: str = "models/shakespeare.opml") -> dict:
    """The shipped model's game: one corrupted byte of `layers.1.q` at the last position."""
    tok = Tokenizer.from_json(model.tokenizer)
    prompt = tok.encode(SHAKESPEARE_PROMPT)
    if tok.bos >= 0:
        prompt = [tok.bos, *prompt]
    graph = build_graph(model.config)
    task = trace(model, graph, prompt, SHAKESPEARE_NEW)
    node = (len(prompt) + SHAKESPEARE_NEW - 2) * graph.n_f + graph.index(SHAKESPEARE_LIE)
    return game_vector(task, wrong_output(task, node), uri)


def mnist_vector(model: IntModel, image: bytes, uri: str = "models/mnist.opml#single-phase") -> dict:
    """Single-phase MNIST: the submitter claims `MNIST_CLAIM` with a consistent S_n and a final
    state whose output region holds it."""
    task = trace(model, build_graph(model.config, single_phase=True), image, 1)
    if task.tokens == (MNIST_CLAIM,):
        raise ValueError(f"the image classifies as {MNIST_CLAIM}: claiming it is no lie")
    return game_vector(task, wrong_output_as(task, 0, token_bytes(MNIST_CLAIM)), uri)


def smollm2_vector(path: str, chat: str = SMOLLM2_CHAT, n_new: int = SMOLLM2_NEW, lie: str = SMOLLM2_LIE,
                   uri: str = "smollm2") -> dict:
    """SmolLM2-135M-Instruct under spec v2: one corrupted byte of node `lie` at the last position
    of a greedy chat task (SPEC §5.5)."""
    from offchain.game.model_v2 import model_spec_v2
    from offchain.game.task_v2 import trace_v2
    from offchain.llm.chat import encode_chat
    from offchain.llm.gguf_file import read_info
    from offchain.llm.gguf_tokenizer import GgufTokenizer
    from offchain.llm.v2.model import load_gguf
    from offchain.node.graph_v2 import build_graph_v2

    model = load_gguf(path)
    ids = encode_chat(GgufTokenizer.from_gguf(read_info(path)), [{"role": "user", "content": chat}])
    graph = build_graph_v2(model)
    task = trace_v2(model, graph, ids, n_new)
    node = (len(ids) + n_new - 2) * graph.n_f + graph.index(lie)
    spec = model_spec_v2(model, graph, uri, weight_leaves=task.weight_leaves())
    return game_vector(task, wrong_output(task, node), uri, spec)
