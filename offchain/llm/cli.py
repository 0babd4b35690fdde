"""`opml model info|convert` and `opml infer`: the integer LLaMA from the command line."""

from __future__ import annotations

import argparse
import json
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "shakespeare.opml"


def _cmd_info(args: argparse.Namespace) -> int:
    from offchain.llm.v2.session import is_gguf, resolve

    path = resolve(args.path)
    if is_gguf(path):  # a spec v2 model: its config, tensor types and weight root
        from collections import Counter

        from offchain.llm.gguf_file import read_info
        from offchain.llm.v2.session import commitment

        info, c2 = read_info(path), commitment(path)
        print(f"weight_root {c2['weight_root']}  (spec v2, context {c2['context']})")
        print(f"arch        {info.architecture}  dim {info.dim}  hidden {info.hidden_dim}  layers {info.n_layers}  heads "
              f"{info.n_heads}/{info.n_kv_heads}  vocab {info.vocab_size}  context {info.context_length}")
        kinds = Counter(t.ggml_type for t in info.tensors)
        print(f"tensors     {len(info.tensors)}  ({', '.join(f'{n} {k}' for k, n in kinds.most_common())})  "
              f"tokenizer {info.tokenizer_model}/{info.tokenizer_pre}  chat template: "
              f"{'yes' if info.chat_template else 'no'}")
        if args.tensors:
            for t in info.tensors:
                print(f"  {t.name:40s} {t.ggml_type:>5} {str(list(t.shape)):>16}  {t.n_bytes} bytes")
        return 0
    from offchain.llm.format import read_model
    from offchain.llm.model import ARCH_LLAMA, tensor_specs

    m = read_model(path)
    c = m.config
    specs = tensor_specs(c)
    n_bytes = sum(s.nbytes for s in specs)
    print(f"weight_root {m.meta['weight_root']}")
    if c.arch == ARCH_LLAMA:
        print(f"arch        llama  dim {c.dim}  hidden {c.hidden_dim}  layers {c.n_layers}  heads {c.n_heads}"
              f"/{c.n_kv_heads}  vocab {c.vocab_size}  context {c.max_seq_len}")
    else:
        print(f"arch        mlp  dims {'→'.join(map(str, c.dims))}")
    print(f"tensors     {len(specs)}  ({n_bytes} bytes)  tokenizer {m.tokenizer.get('kind')}")
    if args.tensors:
        from offchain.llm.commit import root_of

        for s in specs:
            print(f"  {s.name:40s} {s.dtype:>3} {str(list(s.shape)):>16}  0x{root_of(m[s.name]).hex()}")
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from offchain.llm.convert import convert_llama, convert_mlp
    from offchain.llm.format import write_model

    if args.mlp:
        calib = np.stack([np.frombuffer(Path(p).read_bytes(), np.uint8) for p in args.calib_input])
        model = convert_mlp(args.src, float(Fraction(args.input_scale)), args.input_max, calib)
    else:
        from offchain.llm.checkpoints import read_llama2c_tokenizer

        calib = None
        if args.calib_text:
            calib = list(Path(args.calib_text).read_bytes()[: args.calib_tokens])
        tok = None
        if args.tokenizer:
            from offchain.llm.convert import load_float

            tok = read_llama2c_tokenizer(args.tokenizer, load_float(args.src, args.format)[0].vocab_size)
        hp = {"n_heads": args.n_heads, "n_kv_heads": args.n_kv_heads, "max_seq_len": args.max_seq_len}
        model = convert_llama(args.src, args.format, hp, calib, tok)
    root = write_model(args.out, model)
    print(f"wrote {args.out}\nweight_root 0x{root.hex()}")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    """Read a LLaMA-family GGUF under spec v2: check it loads, and compute (and cache) its weight root."""
    from offchain.llm.v2.model import load_gguf
    from offchain.llm.v2.session import commitment, resolve

    path = resolve(args.path)
    load_gguf(path, args.context)  # every tensor unpacked: a bad one is refused here, in one line
    c = commitment(path, args.context)
    print(f"imported {path} (spec v2): {c['architecture']}, {c['layers']} layers, dim {c['dim']}, heads {c['heads']}, "
          f"vocab {c['vocab']}, context {c['context']}")
    print(f"weight_root {c['weight_root']}")
    return 0


def _v2_request(args: argparse.Namespace):  # -> session.Request
    from offchain.llm.v2.sample import Sampling
    from offchain.llm.v2.session import Request

    ids = None
    if args.token_ids is not None:
        try:
            ids = [int(x) for x in args.token_ids.split(",") if x.strip()]
        except ValueError:
            raise ValueError(f"--token-ids takes comma-separated integers, not {args.token_ids!r}") from None
    return Request(chat=args.chat, system=args.system, prompt=args.prompt, token_ids=ids, tokens=args.tokens,
                   sampling=Sampling.from_floats(args.temperature, args.top_p, args.seed), context=args.context)


def _cmd_infer_v2(args: argparse.Namespace, path: Path) -> int:
    from offchain.llm.v2.session import run

    req = _v2_request(args)
    show = (sys.stderr.isatty() or args.progress) and not args.json
    t0 = time.perf_counter()

    def progress(n: int) -> None:
        if show and (n % 8 == 0 or n == args.tokens):
            print(f"\r  {n}/{args.tokens} tokens  {n / max(time.perf_counter() - t0, 1e-9):.1f} tok/s", end="",
                  file=sys.stderr, flush=True)

    res = run(path, req, progress)
    if show:
        print(file=sys.stderr)
    if args.json:
        print(json.dumps(res))
    else:
        print(res["text"] if req.chat is not None or req.token_ids is not None else (args.prompt or "") + res["text"])
        print(f"weight_root {res['weight_root']}")
    return 0


def _cmd_infer(args: argparse.Namespace) -> int:
    from offchain.llm.v2.session import is_gguf, resolve

    if sum(x is not None for x in (args.prompt, args.chat, args.token_ids)) != 1:
        raise ValueError("give exactly one of --prompt, --chat and --token-ids")
    model = args.model or ("smollm2" if args.prompt is None else str(DEFAULT_MODEL))
    path = resolve(model)
    if is_gguf(path):
        return _cmd_infer_v2(args, path)
    if args.prompt is None or args.json or args.system is not None or args.temperature:
        raise ValueError(f"{path.name} is a spec v1 model: it takes --prompt only (chat, ids, --json and sampling "
                         "need a GGUF model, e.g. --model smollm2)")
    args.model = str(path)
    from offchain.llm.format import read_model
    from offchain.llm.runner import Runner
    from offchain.llm.tokenizer import Tokenizer

    m = read_model(args.model)
    tok = Tokenizer.from_json(m.tokenizer)
    prompt = tok.encode(args.prompt)
    if tok.bos >= 0:
        prompt = [tok.bos, *prompt]
    show = sys.stderr.isatty() or args.progress
    t0 = time.perf_counter()
    done = [0]

    def progress(_t: int) -> None:
        done[0] += 1
        if show and (done[0] % 8 == 0 or done[0] == args.tokens):
            rate = done[0] / max(time.perf_counter() - t0, 1e-9)
            print(f"\r  {done[0]}/{args.tokens} tokens  {rate:.1f} tok/s", end="", file=sys.stderr, flush=True)

    if args.trace:
        # the protocol's trace (what a submitter commits): one JSON line per node, in global order
        from offchain.node.trace import trace_task

        with open(args.trace, "w") as f:  # opened first: a bad path fails before the run, not after
            tr = trace_task(m, prompt, args.tokens, on_token=progress)
            out = tr.tokens
            for i, (name, pos, root) in enumerate(zip(tr.names, tr.positions, tr.roots)):
                f.write(json.dumps({"i": i, "t": pos, "node": name, "root": "0x" + root.hex()}) + "\n")
            f.write(json.dumps({"final_state": "0x" + tr.final_state.hex(), "nodes": len(tr.roots)}) + "\n")
    else:
        out = Runner(m).generate(prompt, args.tokens, progress)
    if show:
        print(file=sys.stderr)
    print(args.prompt + tok.decode(out))
    print(f"weight_root {m.meta['weight_root']}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    mp = sub.add_parser("model", help="integer model files: info (weight commitment), convert")
    msub = mp.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    i = msub.add_parser("info", help="check a model file and print its weight commitment")
    i.add_argument("path", metavar="PATH")
    i.add_argument("--tensors", action="store_true", help="list every tensor with its tensor root")
    i.set_defaults(func=_cmd_info)
    im = msub.add_parser("import", help="read a LLaMA-family GGUF under spec v2 and print its weight root",
                         description="Check that a GGUF (Q8_0, Q4_0, Q4_1, F16, F32 tensors) loads under spec v2 "
                         "(docs/SPEC.md §3v2) and compute its weight root, cached by the file's sha256. "
                         "PATH may be a known model's name (smollm2).")
    im.add_argument("path", metavar="PATH")
    im.add_argument("--context", type=int, default=2048, help="context length to commit to (default 2048, "
                    "capped at the file's)")
    im.set_defaults(func=_cmd_import)
    from offchain.agents.cli import register_model_command  # the chain's side of `opml model` (cli layer)

    register_model_command(msub)
    c = msub.add_parser("convert", help="float checkpoint (torch/safetensors/llama2.c/GGUF) → integer model")
    c.add_argument("src")
    c.add_argument("out")
    c.add_argument("--format", default="auto", choices=["auto", "torch", "safetensors", "llama2c", "gguf"])
    c.add_argument("--n-heads", type=int)
    c.add_argument("--n-kv-heads", type=int)
    c.add_argument("--max-seq-len", type=int)
    c.add_argument("--tokenizer", help="llama2.c tokenizer.bin")
    c.add_argument("--calib-text", help="text whose UTF-8 bytes calibrate activation scales (byte vocabularies)")
    c.add_argument("--calib-tokens", type=int, default=4096)
    c.add_argument("--mlp", action="store_true", help="convert a (weight, bias)-pairs state_dict to an integer MLP")
    c.add_argument("--input-scale", default="1/255", help="MLP: real input = byte × this")
    c.add_argument("--input-max", type=int, default=255)
    c.add_argument("--calib-input", action="append", default=[], help="MLP: raw input bytes for calibration")
    c.set_defaults(func=_cmd_convert)
    f = sub.add_parser(
        "infer", help="generate text with the integer runner; prints the weight commitment",
        description="Run a model in exact integers. GGUF models (spec v2; `smollm2` is installed by make setup) "
        "take --chat (the file's chat template), --prompt (raw text) or --token-ids; the answer stops at the "
        "model's end-of-generation token. Spec v1 files (.opml) take --prompt only.",
        epilog='example: opml infer --model smollm2 --chat "What is the capital of France?" --tokens 32')
    f.add_argument("--model", help="a known model (smollm2), a GGUF or a v1 .opml file "
                   f"(default: smollm2 with --chat/--token-ids, {DEFAULT_MODEL.name} with --prompt)")
    f.add_argument("--prompt", help="raw text to continue")
    f.add_argument("--chat", metavar="TEXT", help="a user message, wrapped in the model's chat template")
    f.add_argument("--system", metavar="TEXT", help="the system message of --chat (default: the template's)")
    f.add_argument("--token-ids", metavar="ID,ID,...", help="the input as token ids, no tokenizer; with --json "
                   "also prints `argmax`, the greedy next token after each input position (teacher-forced)")
    f.add_argument("--tokens", type=int, default=64, help="at most this many new tokens (default 64)")
    f.add_argument("--json", action="store_true", help="print one JSON object: text, tokens, commitments")
    f.add_argument("--temperature", type=float, default=0.0, help="sample at this temperature (default 0: greedy); "
                   "kept to thousandths, as committed")
    f.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (default 1)")
    f.add_argument("--seed", type=int, default=0, help="the sampler's seed, part of the task's input (default 0)")
    f.add_argument("--context", type=int, default=2048, help="GGUF: context length (default 2048)")
    f.add_argument("--progress", action="store_true", help="show progress even when stderr is not a terminal")
    f.add_argument("--trace", metavar="FILE", help="also commit to every node output (the protocol trace, SPEC §5) "
                   "and write each node's tensor root, then the final state S_n, as JSON lines")
    f.set_defaults(func=_cmd_infer)
