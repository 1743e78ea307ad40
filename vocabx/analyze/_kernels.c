/* Compiled kernels for `vocabx analyze`, kept where a whole `vocabx analyze` run measured a gain (bench/RESULTS.md):
 * here the GPT-2 pre-tokenizer (ten times the `regex` module's speed on Chinese text); `_jieba.c` holds jieba's
 * segmentation, `_learn.c` the vocabulary learner. The n-gram, span and hash-lookup loops are numpy (ngrams.py,
 * spans.py): their compiled versions saved nothing. The only implementation of each (setup.py builds it, not
 * optionally); tests compare each kernel with the library it emulates. Arrays arrive through the buffer protocol,
 * C-contiguous, with the dtypes the callers pass; no numpy headers are needed to build.
 */
#include "_kernels.h"

/* Bytes holding n int64 values (the results travel as bytes; callers view them with numpy). */
static PyObject *bytes_of(const void *data, int64_t n) {
    return PyBytes_FromStringAndSize((const char *)data, (Py_ssize_t)(n * 8));
}

/* ------------------------------------------------------------------------------------------------------------ */
/* GPT-2 pre-tokenization (tokencount.py's GPT2_PATTERN after an optional Digits step) on character classes.     */

enum { LETTER = 1, NUMBER = 2, SPACE = 4 };

/* The end of each pre-token that the pattern
 *     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * finds in cps[s:e] (leftmost-first alternation, greedy), appended to `out`. */
static int64_t gpt2_piece(const uint32_t *cps, const unsigned char *cls, int64_t s, int64_t e, int64_t *out,
                          int64_t n) {
    for (int64_t i = s; i < e;) {
        uint32_t c = cps[i];
        if (c == '\'' && i + 1 < e) { /* contractions, case-sensitive */
            uint32_t c1 = cps[i + 1], c2 = i + 2 < e ? cps[i + 2] : 0;
            int len = (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') ? 2
                      : ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) ? 3 : 0;
            if (len) {
                out[n++] = i + len;
                i += len;
                continue;
            }
        }
        int64_t j = i;
        if (c == ' ' && i + 1 < e && !(cls[i + 1] & SPACE)) j = i + 1; /* the space joins what follows */
        if (!(cls[j] & SPACE)) { /* a run of letters, of numbers, or of anything else that is not a space */
            unsigned char kind = cls[j] & (LETTER | NUMBER);
            while (j < e && !(cls[j] & SPACE) && (cls[j] & (LETTER | NUMBER)) == kind) j++;
            out[n++] = j;
            i = j;
            continue;
        }
        while (j < e && (cls[j] & SPACE)) j++; /* whitespace [i, j) */
        if (j < e && j - i >= 2) j--;          /* \s+(?!\S): leave the last one to what follows */
        out[n++] = j;
        i = j;
    }
    return n;
}

/* gpt2_pretokenize(cps, cls, text_ends, digits) -> ends (int64 bytes): pre-token ends over texts laid end to end.
 *
 * cps (uint32); cls (uint8 per position): LETTER | NUMBER | SPACE flags (\p{L}, \p{N}, \s as the `regex` module
 * has them); text_ends (int64): where each text ends (pre-tokens never cross them); digits: 0 none, 1 a Digits
 * step with individual digits before the pattern (each \p{N} its own piece), 2 a Digits step with runs. */
static PyObject *gpt2_pretokenize(PyObject *self, PyObject *args) {
    Buffers b = {.count = 3};
    Py_buffer *v = b.v;
    int digits;
    if (!PyArg_ParseTuple(args, "y*y*y*i", &v[0], &v[1], &v[2], &digits)) return NULL;
    const uint32_t *cps = v[0].buf;
    const unsigned char *cls = v[1].buf;
    const int64_t *text_ends = v[2].buf;
    int64_t size = v[0].len / 4, texts = v[2].len / 8, n = 0;
    int64_t *out = malloc(sizeof(int64_t) * (size + 1));
    if (!out) {
        release(&b);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    int64_t start = 0;
    for (int64_t t = 0; t < texts; t++) {
        int64_t end = text_ends[t];
        for (int64_t s = start; s < end;) { /* the Digits step's pieces, each through the pattern */
            int64_t e = s;
            if (digits && (cls[s] & NUMBER)) {
                e = s + 1;
                if (digits == 2)
                    while (e < end && (cls[e] & NUMBER)) e++;
            } else if (digits) {
                while (e < end && !(cls[e] & NUMBER)) e++;
            } else {
                e = end;
            }
            n = gpt2_piece(cps, cls, s, e, out, n);
            s = e;
        }
        start = end;
    }
    Py_END_ALLOW_THREADS
    PyObject *ends = bytes_of(out, n);
    free(out);
    release(&b);
    return ends;
}

static PyMethodDef methods[] = {
    {"gpt2_pretokenize", gpt2_pretokenize, METH_VARARGS, "GPT-2 pre-token ends (see the C source)."},
    {"jieba_index", jieba_index, METH_VARARGS, "The hash table of jieba's dictionary (see the C source)."},
    {"learn_bpe", learn_bpe, METH_VARARGS, "Continued BPE scored out of sample (see _learn.c)."},
    {"jieba_cut", jieba_cut, METH_VARARGS, "jieba's accurate-mode pieces as lengths (see the C source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", "Compiled kernels for vocabx analyze.", -1,
                                    methods};

/* Bumped whenever a signature or a result changes: `kernels.py` ignores a stale build of another version. */
#define KERNELS_VERSION 16

PyMODINIT_FUNC PyInit__kernels(void) {
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "VERSION", KERNELS_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
