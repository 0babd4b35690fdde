#!/usr/bin/env bash
# Build the VM test programs at -O0 and -O2 (TOOLCHAIN.md flags). The ELFs are committed so the
# tests need no cross-compiler; `make programs` rebuilds them.
set -euo pipefail
cd "$(dirname "$0")"
CC=${CC:-mips-linux-gnu-gcc}
FLAGS="-march=mips32 -mabi=32 -EB -msoft-float -mno-abicalls -fno-pic -G0 -ffreestanding -fno-builtin
  -fno-tree-loop-distribute-patterns -nostdlib -static -Wl,-e,_start -mno-imadd -mno-check-zero-division
  -Wl,--build-id=none -Wall -Wno-main"
# The entry point is the op kernels' (one freestanding MIPS runtime, SPEC §4.6).
KSRC=../../../offchain/llm/kernels/src
mkdir -p elf
for src in sort hash math64 recurse fnptr switch packed echo long; do
  for opt in O0 O2; do
    $CC $FLAGS -$opt -o "elf/${src}_${opt}.elf" "$KSRC/start.S" rt.c "$src.c" -lgcc
  done
done
ls elf
