/* The per-token part of a NodeRoots table, filled from Python objects in one call.
 *
 * A trace hands NodeRoots about 70 arrays per token. Their rows in the native call's table
 * (struct opml_node in keccak_tree.c) are the same from token to token except for each array's
 * address, and for the few arrays whose size changes (attention scores grow with the position).
 * Reading 70 addresses from Python costs more than the rest of the trace's bookkeeping together,
 * so this reads them through the buffer protocol in C. A new length over the same tree shape is
 * updated here too; rows whose tree shape, item size or dtype no longer match are reported, and
 * Python describes them again (batch.NodeRoots.add_batch).
 *
 * Loaded with ctypes.PyDLL: the GIL is held throughout, and a Python exception set here is
 * raised by ctypes when the call returns.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define FIELDS 8 /* struct opml_node: src, nbytes, keep, itemsize, leaves, levels, valid, base */

/* An integer item format of the struct module (what numpy's integer arrays export), with an
 * optional byte-order prefix; a canonical encoding exists only for integers (SPEC §1.1). */
static int integer_format(const char *f) {
    if (!f) return 0;
    if (*f == '<' || *f == '>' || *f == '=' || *f == '@' || *f == '!') f++;
    return f[0] && !f[1] && strchr("bBhHiIlLqQ", f[0]) != NULL;
}

/* Leaves of the tensor tree over `len` bytes: the next power of two of its 32-byte leaves, at
 * least one (SPEC §1.1; batch._leaf_count). */
static uint64_t leaves_of(uint64_t len) {
    uint64_t used = len ? (len + 31) / 32 : 1, leaves = 1;
    while (leaves < used) leaves <<= 1;
    return leaves;
}

/* For each array of `arrays` (a list, one per row of `rows`): write its address into the row, and
 * if its byte length, item size or integer format differs from what the row says, write the row's
 * index into `bad` instead. Returns how many rows went to `bad` (their address is left as it was),
 * or -1 with a Python exception set (an object without a C-contiguous buffer, or a count mismatch). */
Py_ssize_t opml_fill_addresses(PyObject *arrays, uint64_t *rows, Py_ssize_t n, Py_ssize_t *bad) {
    if (!PyList_Check(arrays) || PyList_GET_SIZE(arrays) != n) {
        PyErr_SetString(PyExc_ValueError, "opml_fill_addresses: one array per table row is required");
        return -1;
    }
    Py_ssize_t nbad = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_buffer view;
        /* C-contiguous only: the native hasher reads each array as one run of bytes */
        if (PyObject_GetBuffer(PyList_GET_ITEM(arrays, i), &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
        uint64_t *row = rows + FIELDS * i, len = (uint64_t)view.len;
        if (len != row[1] && (uint64_t)view.itemsize == row[3] && leaves_of(len) == row[4]) {
            /* a new length over the same tree shape (scores grow one column per token): the row
             * stays exact with its new length, and a saved tree is patched as before */
            row[1] = row[2] = len;
        }
        if (len != row[1] || (uint64_t)view.itemsize != row[3] || !integer_format(view.format))
            bad[nbad++] = i;
        else
            row[0] = (uint64_t)(uintptr_t)view.buf;
        /* The caller keeps the array alive until the native call is done with it; the buffer
         * itself need not stay exported (numpy arrays never move their data). */
        PyBuffer_Release(&view);
    }
    return nbad;
}
