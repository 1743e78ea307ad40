/* What the compiled kernels' sources share (`_kernels.c`: counting and lookups; `_learn.c`: the learner; `_jieba.c`:
 * jieba's segmentation): argument buffers, the polynomial hash and its remix, and the size limit of a shard. */
#ifndef VOCABX_KERNELS_H
#define VOCABX_KERNELS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BUFFERS 16

typedef struct {
    Py_buffer v[MAX_BUFFERS];
    int count;
} Buffers;

static inline void release(Buffers *b) {
    for (int i = 0; i < b->count; i++) PyBuffer_Release(&b->v[i]);
    b->count = 0;
}

/* Rolling polynomial hashes (ngrams.py: h = h * MULT + c, mod 2**64) and splitmix64's multiplier for slots. */
#define MULT 0x9E3779B97F4A7C15ULL
#define REMIX 0xBF58476D1CE4E5B9ULL
#define PREFETCH 16               /* positions ahead whose hash slot is prefetched */
#define MAX_POSITIONS 0x7FFFFFF0 /* group fields and per-position ids are int32: a shard holds fewer positions */

static inline uint64_t mix(uint64_t x) {
    x ^= x >> 31;
    x *= REMIX;
    x ^= x >> 29;
    return x;
}

/* _jieba.c */
PyObject *jieba_index(PyObject *self, PyObject *args);
PyObject *jieba_cut(PyObject *self, PyObject *args);

/* _learn.c */
PyObject *learn_bpe(PyObject *self, PyObject *args);

#endif
