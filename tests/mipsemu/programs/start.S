# Entry point shared by the test programs: call main, then exit_group(main's return value).
# The VM starts with sp = 0x0FFFFFF0 (SPEC 2.2); under qemu the kernel sets sp.
        .set noreorder
        .text
        .globl _start
        .ent _start
_start:
        addiu $sp, $sp, -16     # o32: the callee may spill its 4 argument registers here
        jal main
        nop
        move $a0, $v0
        li $v0, 4246            # exit_group
        syscall
        nop
        .end _start
