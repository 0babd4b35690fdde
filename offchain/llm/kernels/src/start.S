# Entry point of every kernel: call main, then exit_group(main's return value).
# The VM starts with sp = 0x0FFFFFF0 (SPEC 2.2); o32 lets the callee spill a0..a3 at 0..15(sp).
        .set noreorder
        .text
        .globl _start
        .ent _start
_start:
        addiu $sp, $sp, -16
        jal main
        nop
        move $a0, $v0
        li $v0, 4246            # exit_group
        syscall
        nop
        .end _start
