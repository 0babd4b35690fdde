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
    from offchain.llm.format import read_model
    from offchain.llm.model import ARCH_LLAMA, tensor_specs

    m = read_model(args.path)
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


def _cmd_infer(args: argparse.Namespace) -> int:
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
    f = sub.add_parser("infer", help="generate text with the integer runner; prints the weight commitment")
    f.add_argument("--model", default=str(DEFAULT_MODEL), help=f"model file (default: {DEFAULT_MODEL.name})")
    f.add_argument("--prompt", required=True)
    f.add_argument("--tokens", type=int, default=64)
    f.add_argument("--progress", action="store_true", help="show progress even when stderr is not a terminal")
    f.add_argument("--trace", metavar="FILE", help="also commit to every node output (the protocol trace, SPEC §5) "
                   "and write each node's tensor root, then the final state S_n, as JSON lines")
    f.set_defaults(func=_cmd_infer)
