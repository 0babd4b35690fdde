"""The committed kernel ELFs are what the sources build to, byte for byte, and programs.json
records their entry points and region-0 roots."""

import shutil
import subprocess

import pytest

from offchain.llm.kernels import BUILD_DIR, KERNELS, PROGRAMS_JSON, SRC_DIR
from offchain.llm.kernels.__main__ import render, table
from offchain.node.start import Program


@pytest.mark.skipif(shutil.which("mips-linux-gnu-gcc") is None, reason="no MIPS cross-compiler (make setup)")
def test_rebuild_is_byte_identical(tmp_path):
    subprocess.run([str(SRC_DIR / "build.sh"), str(tmp_path)], check=True, capture_output=True)
    built = sorted(p.name for p in tmp_path.glob("*.elf"))
    assert built == sorted(f"{k}.elf" for k in KERNELS)
    for name in built:
        assert (tmp_path / name).read_bytes() == (BUILD_DIR / name).read_bytes(), f"{name} differs from the build"


def test_programs_json_matches_the_committed_elfs():
    assert PROGRAMS_JSON.read_text() == render(table())


def test_every_kernel_fits_region_0_below_0x08000000():
    for name in KERNELS:
        p = Program.load(str(BUILD_DIR / f"{name}.elf"))
        assert 0x00400000 <= p.entry < 0x08000000


def test_opml_kernels_prints_every_kernel(capsys):
    from offchain.cli import main

    assert main(["kernels", "--check"]) == 0
    out = capsys.readouterr().out
    for name, row in table().items():
        assert f"{name:12} entry {row['entry']}  region0_root {row['region0_root']}" in out


# SPEC §2.4's instructions, as objdump spells them (plus its aliases: nop, move, li, b, beqz, bnez, negu).
VM_MNEMONICS = set("""sll srl sra sllv srlv srav jr jalr movz movn syscall sync mfhi mthi mflo mtlo mult multu div divu
add addu sub subu and or xor nor slt sltu tge tgeu tlt tltu teq tne bltz bgez bltzal bgezal j jal beq bne blez bgtz
addi addiu slti sltiu andi ori xori lui madd maddu mul msub msubu clz clo lb lh lwl lw lbu lhu lwr sb sh swl sw swr ll
sc nop move li b beqz bnez negu""".split())


@pytest.mark.skipif(shutil.which("mips-linux-gnu-objdump") is None, reason="no MIPS binutils (make setup)")
def test_kernels_use_only_vm_instructions():
    """Also the code no test input reaches (libgcc's division fallbacks): nothing but §2.4."""
    for name in KERNELS:
        dis = subprocess.run(["mips-linux-gnu-objdump", "-d", str(BUILD_DIR / f"{name}.elf")],
                             check=True, capture_output=True, text=True).stdout
        used = {line.split("\t")[2].split()[0] for line in dis.splitlines() if line.count("\t") >= 2}
        assert used <= VM_MNEMONICS, f"{name}: {sorted(used - VM_MNEMONICS)}"
