/* Native unicorn hooks for the fast-forward (fastforward.py). A Python hook per basic block runs
 * at ~13 M instructions/s; these run at unicorn's own speed. Built on first use with the host cc.
 *
 * ff_block: counts instructions per basic block (delay slots included, as the exact stepper
 *   counts them) and stops emulation *before* a block that would pass the limit, so the stop is
 *   always a block boundary, never inside a delay slot.
 * ff_div:   code hook on div/divu: stops before a division by zero (the VM faults, MIPS does not).
 * ff_risky: code hook on words the two engines may disagree on: always stops before them.
 */
#include <stdint.h>

typedef int (*stop_fn)(void *uc);
typedef int (*reg_read_fn)(void *uc, int regid, void *value);
typedef int (*mem_read_fn)(void *uc, uint64_t address, void *bytes, uint64_t size);

struct ff_counter {
    uint64_t count;    /* instructions in the blocks entered so far */
    uint64_t limit;    /* never enter a block that would take count past this */
    uint64_t block;    /* start of the block entered last */
    uint64_t last_n;   /* its length in instructions */
    uint64_t event;    /* 0 running, 1 limit reached, 2 risky instruction ahead */
    uint64_t event_pc;
    stop_fn stop;
    reg_read_fn reg_read;
    mem_read_fn mem_read;
    int64_t reg0;      /* UC_MIPS_REG_0 */
};

void ff_block(void *uc, uint64_t address, uint32_t size, struct ff_counter *c) {
    if (c->event) return;
    uint64_t n = size >> 2;
    if (c->count + n > c->limit) {
        c->event = 1;
        c->event_pc = address;
        c->stop(uc);
        return;
    }
    c->count += n;
    c->block = address;
    c->last_n = n;
}

void ff_div(void *uc, uint64_t address, uint32_t size, struct ff_counter *c) {
    uint8_t w[4];
    uint64_t value = 0;
    (void)size;
    /* Code lives in kuseg, which the 4Km maps to physical +0x40000000 (fastforward._phys). */
    if (c->event || c->mem_read(uc, address + 0x40000000, w, 4)) return;
    c->reg_read(uc, (int)c->reg0 + (w[1] & 31), &value);
    if ((uint32_t)value == 0) {
        c->event = 2;
        c->event_pc = address;
        c->stop(uc);
    }
}

void ff_risky(void *uc, uint64_t address, uint32_t size, struct ff_counter *c) {
    (void)size;
    if (c->event) return;
    c->event = 2;
    c->event_pc = address;
    c->stop(uc);
}

