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
  -Wl,--build-id=none -Wl,-Ttext-segment=0x00400000 -O2 -fno-schedule-insns -Wall -Wextra -Werror"
# -fno-schedule-insns: the pre-allocation scheduler hoists loads in the matvec loop until
# registers spill (4.1 steps per multiply-accumulate); without it the loop is 3.7.
mkdir -p "$OUT"
for src in embed rmsnorm linear rope kv_append scores softmax attn_values swiglu argmax mlp_input mlp_full; do
  # libgcc.a (64-bit shifts and division) is built PIC and hard-float; the functions we link use
  # neither, so the linker's two mismatch warnings about it are dropped.
  $CC $FLAGS -o "$OUT/$src.elf" start.S "$src.c" -lgcc 2>&1 \
    | { grep -v -e 'uses -mhard-float' -e 'linking abicalls files with non-abicalls' || true; } >&2
done
# Spec v2 kernels (SPEC §4.7) go to a subdirectory: v1's table (and its programs_root) stays as it is.
mkdir -p "$OUT/v2"
for src in v2_embed v2_rmsnorm v2_linear v2_rope v2_attention v2_swiglu v2_sample v2_kv_append; do
  $CC $FLAGS -o "$OUT/v2/$src.elf" start.S "$src.c" -lgcc 2>&1 \
    | { grep -v -e 'uses -mhard-float' -e 'linking abicalls files with non-abicalls' || true; } >&2
done
