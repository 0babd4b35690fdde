#!/usr/bin/env bash
# Build every op kernel into OUT_DIR (default ../build) with the pinned flags (TOOLCHAIN.md).
# Sources are named relative to this directory so the ELF bytes do not depend on where the
# checkout lives; `make kernels` commits the output and `make kernels-check` rebuilds and compares.
set -euo pipefail
cd "$(dirname "$0")"
OUT=$(realpath -m "${1:-../build}")
CC=${CC:-mips-linux-gnu-gcc}
FLAGS="-march=mips32 -mabi=32 -EB -msoft-float -mno-abicalls -fno-pic -G0 -ffreestanding -fno-builtin
  -fno-tree-loop-distribute-patterns -nostdlib -static -Wl,-e,_start -mno-imadd -mno-check-zero-division
  -Wl,--build-id=none -Wl,-Ttext-segment=0x00400000 -O2 -Wall -Wextra -Werror"
mkdir -p "$OUT"
for src in embed rmsnorm linear rope kv_append scores softmax attn_values swiglu argmax mlp_input mlp_full; do
  $CC $FLAGS -o "$OUT/$src.elf" start.S "$src.c" -lgcc
done
