"""Tokenizers stored inside the model file (SPEC §3.5).

Two kinds:
- `bytes`: the vocabulary is the 256 byte values; text is its UTF-8 bytes (the shipped model).
- `pieces`: a SentencePiece-style vocabulary of string pieces with merge scores, as llama2.c's
  tokenizer.bin and GGUF's tokenizer.ggml.* carry. Encoding starts from characters (or <0xXX>
  byte pieces) and repeatedly merges the adjacent pair whose merged piece has the best score.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Tokenizer:
    kind: str = "bytes"
    pieces: list[str] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    bos: int = -1

    @staticmethod
    def from_json(d: dict) -> "Tokenizer":
        return Tokenizer(d.get("kind", "none"), list(d.get("pieces", [])), list(d.get("scores", [])),
                         int(d.get("bos", -1)))

    def to_json(self) -> dict:
        if self.kind == "pieces":
            return {"kind": "pieces", "pieces": self.pieces, "scores": self.scores, "bos": self.bos}
        return {"kind": self.kind}

    def encode(self, text: str) -> list[int]:
        if self.kind == "bytes":
            return list(text.encode("utf-8"))
        if self.kind != "pieces":
            raise ValueError(f"tokenizer kind {self.kind!r} cannot encode text")
        index = {p: i for i, p in enumerate(self.pieces)}
        toks: list[int] = []
        for ch in text.replace(" ", "▁"):
            if ch in index:
                toks.append(index[ch])
            else:
                for b in ch.encode("utf-8"):
                    bp = f"<0x{b:02X}>"
                    if bp not in index:
                        raise ValueError(f"character {ch!r} is not in the vocabulary and has no byte piece")
                    toks.append(index[bp])
        while True:  # merge the best-scoring adjacent pair until none merges
            best, best_i, best_id = None, -1, -1
            for i in range(len(toks) - 1):
                j = index.get(self.pieces[toks[i]] + self.pieces[toks[i + 1]])
                if j is not None and (best is None or self.scores[j] > best):
                    best, best_i, best_id = self.scores[j], i, j
            if best is None:
                break
            toks[best_i : best_i + 2] = [best_id]
        return toks

    def decode_bytes(self, tokens: list[int]) -> bytes:
        if self.kind == "bytes":
            return bytes(tokens)
        out = bytearray()
        for t in tokens:
            p = self.pieces[t]
            if len(p) == 6 and p.startswith("<0x") and p.endswith(">"):
                out.append(int(p[3:5], 16))
            else:
                out += p.replace("▁", " ").encode("utf-8", "surrogateescape")
        return bytes(out)

    def decode(self, tokens: list[int]) -> str:
        return self.decode_bytes(tokens).decode("utf-8", "replace")
