/* jieba's accurate mode for `vocabx.analyze.jiebacut`: the pieces `jieba.lcut(text, HMM=...)` gives, as lengths,
 * following jieba's Python code step by step (blocks, route, regrouping of single characters, finalseg's Viterbi),
 * in the same floating-point order and with the same tie-breaking. Part of the `_kernels` module (its method table
 * is in `_kernels.c`). */
#include "_kernels.h"

/* A dictionary fragment (a word or the prefix of one) in an open-addressing table: `key` is its polynomial hash,
 * `check` a second, independent 32-bit hash (a false match needs both to collide), `word` 1 for a word (with
 * `logw` = log(freq) - log(total)), 0 for a prefix only, -1 for an empty slot. One slot holds all a lookup reads. */
typedef struct {
    uint64_t key;
    double logw;
    uint32_t check;
    int32_t word;
} JSlot;

static inline uint32_t check_step(uint32_t h, uint32_t c) { return (h ^ c) * 0x01000193u + 0x9E3779B9u; }

typedef struct {
    const JSlot *slots;
    int bits;
    const int32_t *single; /* slot of each code point below n_single (-1: none), found without hashing */
    int64_t n_single;
    double neg_logtotal;
    const double *emit; /* 4 per code point below n_emit, states B, M, E, S */
    int64_t n_emit;
    const double *start, *trans; /* 4 and 4 x 4 (from, to) */
} JModel;

/* The slot of the fragment with hashes (key, check), NULL if the dictionary has none. */
static inline const JSlot *jfind(const JModel *m, uint64_t key, uint32_t check) {
    uint64_t mask = ((uint64_t)1 << m->bits) - 1;
    for (uint64_t s = mix(key) >> (64 - m->bits);; s = (s + 1) & mask) {
        const JSlot *slot = &m->slots[s];
        if (slot->word < 0) return NULL;
        if (slot->key == key && slot->check == check) return slot;
    }
}

/* The slot of cps[a:b], NULL if none. */
static const JSlot *jfind_span(const JModel *m, const uint32_t *cps, int64_t a, int64_t b) {
    uint64_t h = 0;
    uint32_t h2 = 0;
    for (int64_t i = a; i < b; i++) {
        h = h * MULT + cps[i];
        h2 = check_step(h2, cps[i]);
    }
    return jfind(m, h, h2);
}

/* jieba_index(pool, offsets, logw, bits) -> (slots, single) as bytes: the table of the fragments
 * pool[offsets[i]:offsets[i + 1]] (uint32 code points, int64 offsets), all distinct, in 2**bits slots (at least
 * twice as many as fragments); logw[i] (float64) is NaN for a prefix that is no word. `single` (int32): the slot
 * of each one-character fragment below U+10000, -1 for the others. */
PyObject *jieba_index(PyObject *self, PyObject *args) {
    Buffers b = {.count = 3};
    Py_buffer *v = b.v;
    int bits;
    if (!PyArg_ParseTuple(args, "y*y*y*i", &v[0], &v[1], &v[2], &bits)) return NULL;
    const uint32_t *pool = v[0].buf;
    const int64_t *offsets = v[1].buf;
    const double *logw = v[2].buf;
    int64_t n = v[1].len / 8 - 1, size = (int64_t)1 << bits;
    if (bits < 4 || bits > 40 || n < 0 || 2 * n > size || v[2].len != 8 * n) {
        release(&b);
        return PyErr_Format(PyExc_ValueError, "jieba_index: %lld fragments do not fit 2**%d slots", (long long)n,
                            bits);
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(sizeof(JSlot) * size));
    PyObject *one = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(4 * 0x10000));
    if (!out || !one) {
        Py_XDECREF(out);
        Py_XDECREF(one);
        release(&b);
        return NULL;
    }
    JSlot *slots = (JSlot *)PyBytes_AS_STRING(out);
    int32_t *single = (int32_t *)PyBytes_AS_STRING(one);
    memset(slots, 0xFF, sizeof(JSlot) * size);
    memset(single, 0xFF, 4 * 0x10000);
    for (int64_t i = 0; i < n; i++) {
        uint64_t h = 0;
        uint32_t h2 = 0;
        for (int64_t j = offsets[i]; j < offsets[i + 1]; j++) {
            h = h * MULT + pool[j];
            h2 = check_step(h2, pool[j]);
        }
        uint64_t s = mix(h) >> (64 - bits);
        while (slots[s].word >= 0) s = (s + 1) & (size - 1);
        int word = logw[i] == logw[i]; /* not NaN */
        slots[s] = (JSlot){.key = h, .logw = word ? logw[i] : 0.0, .check = h2, .word = word};
        if (offsets[i + 1] - offsets[i] == 1 && pool[offsets[i]] < 0x10000) single[pool[offsets[i]]] = (int32_t)s;
    }
    release(&b);
    return Py_BuildValue("NN", out, one);
}

enum { ST_B, ST_M, ST_E, ST_S };
static const char STATE_LETTER[4] = {'B', 'M', 'E', 'S'}; /* ties go to the larger letter, as in Python's max */
static const int PREV_STATES[4][2] = {{ST_E, ST_S}, {ST_M, ST_B}, {ST_B, ST_M}, {ST_S, ST_E}}; /* PrevStatus */
#define MIN_FLOAT (-3.14e100)

/* Scratch arrays, grown as blocks and runs get longer: the route of a block (best value and word end per
 * position) and the Viterbi table of a Han run (values, back pointers and the path per position). */
typedef struct {
    int32_t *out; /* piece lengths */
    int64_t used;
    double *route;
    int32_t *next;
    int64_t route_cap;
    double *v;
    int8_t *back, *path;
    int64_t hmm_cap;
} JWork;

static int64_t grown(int64_t cap, int64_t need) {
    cap = cap ? cap : 1024;
    while (cap < need) cap *= 2;
    return cap;
}

static int route_reserve(JWork *w, int64_t n) {
    if (n + 1 <= w->route_cap) return 0;
    int64_t cap = grown(w->route_cap, n + 1);
    free(w->route);
    free(w->next);
    w->route = malloc(sizeof(double) * cap);
    w->next = malloc(sizeof(int32_t) * cap);
    w->route_cap = (w->route && w->next) ? cap : 0;
    return w->route_cap ? 0 : -1;
}

static int hmm_reserve(JWork *w, int64_t n) {
    if (n <= w->hmm_cap) return 0;
    int64_t cap = grown(w->hmm_cap, n);
    free(w->v);
    free(w->back);
    free(w->path);
    w->v = malloc(sizeof(double) * 4 * cap);
    w->back = malloc(sizeof(int8_t) * 4 * cap);
    w->path = malloc(sizeof(int8_t) * cap);
    w->hmm_cap = (w->v && w->back && w->path) ? cap : 0;
    return w->hmm_cap ? 0 : -1;
}

static void jwork_free(JWork *w) {
    free(w->route);
    free(w->next);
    free(w->v);
    free(w->back);
    free(w->path);
}

static inline double emit_p(const JModel *m, int state, uint32_t c) {
    return c < (uint64_t)m->n_emit ? m->emit[4 * (int64_t)c + state] : MIN_FLOAT;
}

/* finalseg's `__cut` of a run of Han characters: Viterbi over B/M/E/S, pieces from the best path. */
static void hmm_run(const JModel *m, const uint32_t *c, int64_t n, JWork *w) {
    double *v = w->v;
    int8_t *back = w->back;
    for (int y = 0; y < 4; y++) v[y] = m->start[y] + emit_p(m, y, c[0]);
    for (int64_t t = 1; t < n; t++) {
        for (int y = 0; y < 4; y++) {
            double em = emit_p(m, y, c[t]);
            int a = PREV_STATES[y][0], z = PREV_STATES[y][1];
            double pa = v[4 * (t - 1) + a] + m->trans[4 * a + y] + em;
            double pz = v[4 * (t - 1) + z] + m->trans[4 * z + y] + em;
            int take_z = pz > pa || (pz == pa && STATE_LETTER[z] > STATE_LETTER[a]);
            v[4 * t + y] = take_z ? pz : pa;
            back[4 * t + y] = (int8_t)(take_z ? z : a);
        }
    }
    int state = v[4 * (n - 1) + ST_S] >= v[4 * (n - 1) + ST_E] ? ST_S : ST_E; /* 'S' > 'E' on a tie */
    for (int64_t t = n - 1; t >= 0; t--) { /* the path, backwards */
        w->path[t] = (int8_t)state;
        if (t) state = back[4 * t + state];
    }
    int64_t begin = 0, nexti = 0;
    for (int64_t i = 0; i < n; i++) {
        int pos = w->path[i];
        if (pos == ST_B) {
            begin = i;
        } else if (pos == ST_E) {
            w->out[w->used++] = (int32_t)(i + 1 - begin);
            nexti = i + 1;
        } else if (pos == ST_S) {
            w->out[w->used++] = 1;
            nexti = i + 1;
        }
    }
    if (nexti < n) w->out[w->used++] = (int32_t)(n - nexti);
}

static inline int is_ascii_alnum(uint32_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int is_hmm_han(uint32_t c) { return c >= 0x4E00 && c <= 0x9FD5; }

/* finalseg's `cut` of a buffer of single-character words: Han runs by Viterbi; between them, the matches of
 * ([a-zA-Z0-9]+(?:\.\d+)?%?) and the text between those as pieces. */
static int hmm_cut(const JModel *m, const uint32_t *c, int64_t n, JWork *w) {
    int64_t i = 0;
    while (i < n) {
        if (is_hmm_han(c[i])) {
            int64_t j = i;
            while (j < n && is_hmm_han(c[j])) j++;
            if (hmm_reserve(w, j - i) < 0) return -1;
            hmm_run(m, c + i, j - i, w);
            i = j;
            continue;
        }
        int64_t between = i; /* start of the text that no match covers */
        while (i < n && !is_hmm_han(c[i])) {
            if (!is_ascii_alnum(c[i])) {
                i++;
                continue;
            }
            int64_t j = i;
            while (j < n && is_ascii_alnum(c[j])) j++;
            if (j + 1 < n && c[j] == '.' && c[j + 1] >= '0' && c[j + 1] <= '9') {
                j += 2;
                while (j < n && c[j] >= '0' && c[j] <= '9') j++;
            }
            if (j < n && c[j] == '%') j++;
            if (i > between) w->out[w->used++] = (int32_t)(i - between);
            w->out[w->used++] = (int32_t)(j - i);
            i = between = j;
        }
        if (i > between) w->out[w->used++] = (int32_t)(i - between);
    }
    return 0;
}

/* The pending single characters c[a:b] of a block: with the HMM, one piece if alone, one piece each if together
 * they are a word, else finalseg's cut; without, one piece (they are Latin letters and digits). */
static int flush(const JModel *m, const uint32_t *c, int64_t a, int64_t b, int hmm, JWork *w) {
    if (!hmm || b - a == 1) {
        w->out[w->used++] = (int32_t)(b - a);
        return 0;
    }
    const JSlot *e = jfind_span(m, c, a, b);
    if (!e || !e->word) return hmm_cut(m, c + a, b - a, w);
    for (int64_t k = a; k < b; k++) w->out[w->used++] = 1;
    return 0;
}

/* `__cut_DAG` (hmm) or `__cut_DAG_NO_HMM` of one block: the route by dynamic programming over the dictionary's
 * words (best total log frequency, the later end on a tie), then the single characters between words regrouped. */
static int cut_block(const JModel *m, const uint32_t *c, int64_t n, int hmm, JWork *w) {
    if (route_reserve(w, n) < 0) return -1;
    double *route = w->route;
    int32_t *next = w->next;
    route[n] = 0.0;
    for (int64_t idx = n - 1; idx >= 0; idx--) {
        if (idx >= PREFETCH / 2) { /* the two-character fragment a later step looks up first */
            int64_t q = idx - PREFETCH / 2;
            if (q + 1 < n) __builtin_prefetch(&m->slots[mix(c[q] * MULT + c[q + 1]) >> (64 - m->bits)]);
        }
        double best = 0.0;
        int64_t best_x = -1;
        uint64_t h = 0;
        uint32_t h2 = 0;
        for (int64_t i = idx; i < n; i++) {
            h = h * MULT + c[i];
            h2 = check_step(h2, c[i]);
            const JSlot *e;
            if (i == idx && c[i] < (uint64_t)m->n_single) {
                e = m->single[c[i]] < 0 ? NULL : &m->slots[m->single[c[i]]];
            } else {
                e = jfind(m, h, h2);
            }
            if (!e) break;
            if (e->word) {
                double value = e->logw + route[i + 1];
                if (best_x < 0 || value >= best) {
                    best = value;
                    best_x = i;
                }
            }
        }
        if (best_x < 0) {
            best = m->neg_logtotal + route[idx + 1];
            best_x = idx;
        }
        route[idx] = best;
        next[idx] = (int32_t)best_x;
    }
    int64_t x = 0, buf = -1; /* buf: start of the pending single characters */
    while (x < n) {
        int64_t y = next[x] + 1;
        if (y - x == 1 && (hmm || is_ascii_alnum(c[x]))) {
            if (buf < 0) buf = x;
            x = y;
            continue;
        }
        if (buf >= 0 && flush(m, c, buf, x, hmm, w) < 0) return -1;
        buf = -1;
        w->out[w->used++] = (int32_t)(y - x);
        x = y;
    }
    if (buf >= 0 && flush(m, c, buf, n, hmm, w) < 0) return -1;
    return 0;
}

static inline int in_block(uint32_t c) { /* jieba's re_han_default: [\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-] */
    return is_hmm_han(c) || is_ascii_alnum(c) || c == '+' || c == '#' || c == '&' || c == '.' || c == '_' ||
           c == '%' || c == '-';
}

/* jieba_cut(cps, starts, lengths, slots, bits, single, neg_logtotal, emit, start, trans, hmm)
 *     -> (counts, pieces) as int32 bytes
 *
 * jieba's `cut` of each document cps[starts[i]:starts[i] + lengths[i]] (uint32 code points, int64 bounds): blocks
 * of re_han_default cut by `cut_block`, every other character a piece of its own but for "\r\n", one piece.
 * `counts[i]`: the pieces of document i; `pieces`: their lengths, in order. The model (jiebacut.py builds it):
 * `slots` and `single` from `jieba_index` over the dictionary's words and prefixes, `emit` (float64, 4 per code
 * point), `start` (4) and `trans` (4 x 4, from x to) in state order B, M, E, S. */
PyObject *jieba_cut(PyObject *self, PyObject *args) {
    Buffers b = {.count = 8};
    Py_buffer *v = b.v;
    JModel m;
    int hmm;
    if (!PyArg_ParseTuple(args, "y*y*y*y*iy*dy*y*y*p", &v[0], &v[1], &v[2], &v[3], &m.bits, &v[4], &m.neg_logtotal,
                          &v[5], &v[6], &v[7], &hmm))
        return NULL;
    const uint32_t *cps = v[0].buf;
    const int64_t *starts = v[1].buf, *lengths = v[2].buf;
    int64_t docs = v[1].len / 8, size = v[0].len / 4, total = 0;
    m.slots = v[3].buf;
    m.single = v[4].buf;
    m.n_single = v[4].len / 4;
    m.emit = v[5].buf;
    m.n_emit = v[5].len / 32;
    m.start = v[6].buf;
    m.trans = v[7].buf;
    int bad = v[2].len != v[1].len || m.bits < 4 || m.bits > 40 ||
              v[3].len != (Py_ssize_t)sizeof(JSlot) << m.bits || v[6].len != 32 || v[7].len != 128;
    for (int64_t i = 0; i < m.n_single && !bad; i++) bad = m.single[i] >= ((int64_t)1 << m.bits);
    for (int64_t i = 0; i < docs && !bad; i++) {
        bad = starts[i] < 0 || lengths[i] < 0 || starts[i] + lengths[i] > size;
        total += lengths[i];
    }
    if (bad || total >= MAX_POSITIONS) {
        release(&b);
        return PyErr_Format(PyExc_ValueError, "jieba_cut: inconsistent arguments");
    }
    JWork w = {0};
    int32_t *counts = malloc(sizeof(int32_t) * (docs + 1));
    w.out = malloc(sizeof(int32_t) * (total + 1));
    int failed = !counts || !w.out;
    if (!failed) {
        Py_BEGIN_ALLOW_THREADS
        for (int64_t d = 0; d < docs && !failed; d++) {
            const uint32_t *c = cps + starts[d];
            int64_t n = lengths[d], before = w.used, i = 0;
            while (i < n && !failed) {
                if (in_block(c[i])) {
                    int64_t j = i;
                    while (j < n && in_block(c[j])) j++;
                    failed = cut_block(&m, c + i, j - i, hmm, &w) < 0;
                    i = j;
                } else {
                    int64_t len = (c[i] == '\r' && i + 1 < n && c[i + 1] == '\n') ? 2 : 1;
                    w.out[w.used++] = (int32_t)len;
                    i += len;
                }
            }
            counts[d] = (int32_t)(w.used - before);
        }
        Py_END_ALLOW_THREADS
    }
    release(&b);
    PyObject *out = NULL;
    if (!failed) {
        out = Py_BuildValue("NN", PyBytes_FromStringAndSize((const char *)counts, (Py_ssize_t)(4 * docs)),
                            PyBytes_FromStringAndSize((const char *)w.out, (Py_ssize_t)(4 * w.used)));
    }
    free(counts);
    free(w.out);
    jwork_free(&w);
    if (!out && !PyErr_Occurred()) return PyErr_NoMemory();
    return out;
}
