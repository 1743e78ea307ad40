/* Compiled kernels for `vocabx analyze`: the loops that numpy can only run as many whole-array passes (n-gram and
 * span counting, the GPT-2 pre-tokenizer, hash lookups); `_jieba.c` holds jieba's segmentation, `_learn.c` the
 * vocabulary learner. The only implementation (setup.py builds it, not optionally); tests compare each kernel with
 * brute-force Python. Arrays arrive through the buffer protocol, C-contiguous, with the dtypes the callers pass;
 * no numpy headers are needed to build.
 */
#include "_kernels.h"

/* ------------------------------------------------------------------------------------------------------------ */
/* N-gram counting (ngrams.py's `count_ngrams`, same tables): per length, the n-grams at the surviving positions  */
/* are grouped by (group of their (n-1)-gram prefix, last code point) in an open-addressing table.               */

typedef struct {
    uint64_t key;
    int64_t group; /* -1: empty */
} Slot;

typedef struct {
    Slot *slots;
    int64_t size, used;
    int bits;
} Groups;

static int groups_init(Groups *g, int bits) {
    g->bits = bits;
    g->size = (int64_t)1 << bits;
    g->used = 0;
    g->slots = malloc(sizeof(Slot) * g->size);
    if (!g->slots) return -1;
    memset(g->slots, 0xFF, sizeof(Slot) * g->size);
    return 0;
}

static void groups_free(Groups *g) {
    free(g->slots);
    g->slots = NULL;
}

/* The slot holding `key`, or the empty slot where it would go. */
static inline Slot *groups_find(const Groups *g, uint64_t key) {
    uint64_t s = mix(key) >> (64 - g->bits);
    for (;; s = (s + 1) & (g->size - 1)) {
        Slot *slot = &g->slots[s];
        if (slot->group < 0 || slot->key == key) return slot;
    }
}

static int groups_grow(Groups *g) {
    Groups bigger;
    if (groups_init(&bigger, g->bits + 1) < 0) return -1;
    for (int64_t s = 0; s < g->size; s++) {
        if (g->slots[s].group >= 0) *groups_find(&bigger, g->slots[s].key) = g->slots[s];
    }
    bigger.used = g->used;
    groups_free(g);
    *g = bigger;
    return 0;
}

/* One n-gram group: its fields side by side, so counting an occurrence touches one cache line. */
typedef struct {
    int32_t first; /* position of its first occurrence */
    int32_t last_doc;
    int32_t count, docs, aligned;
} Group;

typedef struct {
    Group *at;
    int64_t cap;
} Columns;

static int columns_reserve(Columns *c, int64_t need) {
    if (need <= c->cap) return 0;
    int64_t cap = c->cap ? c->cap : 1024;
    while (cap < need) cap *= 2;
    Group *grown = realloc(c->at, sizeof(Group) * cap);
    if (!grown) return -1;
    c->at = grown;
    c->cap = cap;
    return 0;
}

static void columns_free(Columns *c) { free(c->at); }

static PyObject *bytes_of(const void *data, int64_t n) {
    return PyBytes_FromStringAndSize((const char *)data, (Py_ssize_t)(n * 8));
}

/* count_ngrams(cps, doc, bounds, han, char_counts, max_n, prune_below) -> [(n, keys, counts, doc_freq,
 * aligned, first), ...] for n = 2..max_n: int64/uint64 bytes of the groups seen `prune_below` times, in no
 * particular order (the caller sorts them by key); `first` is the position of an occurrence.
 *
 * cps (uint32), doc (int64): code points and document of each position; bounds (uint8, len + 1): a word starts
 * there; han (uint8): the position holds a Han character; char_counts (int64, indexed by code point, covering
 * every Han character of cps): how often each occurs in the shard. Pruning as in ngrams.py: an n-gram is counted
 * at a position only if the (n-1)-grams at it and at the next position both reached `prune_below`. */
static PyObject *count_ngrams(PyObject *self, PyObject *args) {
    Buffers b = {.count = 5};
    Py_buffer *v = b.v;
    int max_n, prune;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*ii", &v[0], &v[1], &v[2], &v[3], &v[4], &max_n, &prune)) return NULL;
    const uint32_t *cps = v[0].buf;
    const int64_t *doc = v[1].buf, *char_counts = v[4].buf;
    const unsigned char *bounds = v[2].buf, *han = v[3].buf;
    int64_t size = v[0].len / 4, n_counts = v[4].len / 8;
    if (size >= MAX_POSITIONS) {
        release(&b);
        return PyErr_Format(PyExc_OverflowError, "count_ngrams: a shard of %lld positions is too large",
                            (long long)size);
    }
    PyObject *out = PyList_New(0);
    /* Per position: the id of the n-gram there (a code point for n = 1), its count, the length it was counted
     * at (a stale entry reads as absent), and its rolling hash. */
    int32_t *id = malloc(sizeof(int32_t) * (size + 1)), *count_at = malloc(sizeof(int32_t) * (size + 1));
    int32_t *level = malloc(sizeof(int32_t) * (size + 1)), *remaining = malloc(sizeof(int32_t) * (size + 1));
    uint64_t *hash = malloc(sizeof(uint64_t) * (size + 1));
    int32_t *live = malloc(sizeof(int32_t) * (size + 1)), *group_of = malloc(sizeof(int32_t) * (size + 1));
    Columns col = {0};
    Groups groups = {0};
    int failed = !out || !id || !count_at || !level || !hash || !live || !group_of || !remaining;
    int64_t n_live = 0, expect = size / 8 + 1024; /* groups expected at the next length: as many as at this one */
    if (!failed) {
        int32_t left = 0; /* Han characters from each position to the end of its run (0 off runs) */
        remaining[size] = 0;
        for (int64_t p = size - 1; p >= 0; p--) remaining[p] = left = han[p] && cps[p] < n_counts ? left + 1 : 0;
        for (int64_t p = 0; p <= size; p++) {
            int on = p < size && remaining[p] > 0;
            id[p] = on ? (int32_t)cps[p] : -1;
            count_at[p] = on ? (int32_t)char_counts[cps[p]] : 0;
            level[p] = on ? 1 : 0;
            hash[p] = on ? cps[p] : 0;
            if (on) live[n_live++] = (int32_t)p;
        }
    }
    for (int n = 2; n <= max_n && !failed; n++) {
        int64_t kept = 0, n_groups = 0;
        Py_BEGIN_ALLOW_THREADS
        for (int64_t i = 0; i < n_live; i++) { /* positions whose n-gram may reach `prune` */
            int64_t p = live[i];
            if (remaining[p] >= n && count_at[p] >= prune && level[p + 1] == n - 1 && count_at[p + 1] >= prune)
                live[kept++] = (int32_t)p;
        }
        groups_free(&groups);
        int bits = 10;
        while (((int64_t)1 << bits) < 2 * expect + 1) bits++;
        if (groups_init(&groups, bits) < 0) failed = 1;
        for (int64_t i = 0; i < kept && !failed; i++) {
            int64_t p = live[i];
            uint32_t last = cps[p + n - 1];
            uint64_t key = (uint64_t)id[p] * 0x110000ULL + last;
            if (i + PREFETCH < kept) { /* the slot a later position will probe: hide the cache miss */
                int64_t q = live[i + PREFETCH];
                uint64_t ahead = (uint64_t)id[q] * 0x110000ULL + cps[q + n - 1];
                __builtin_prefetch(&groups.slots[mix(ahead) >> (64 - groups.bits)]);
            }
            if (i + PREFETCH / 2 < kept) { /* its slot is in cache by now: fetch the group it names */
                int64_t q = live[i + PREFETCH / 2];
                const Slot *near = groups_find(&groups, (uint64_t)id[q] * 0x110000ULL + cps[q + n - 1]);
                if (near->group >= 0) __builtin_prefetch(&col.at[near->group]);
            }
            Slot *slot = groups_find(&groups, key);
            int64_t g = slot->group;
            if (g < 0) {
                if (columns_reserve(&col, n_groups + 1) < 0) {
                    failed = 1;
                    break;
                }
                g = n_groups++;
                slot->key = key;
                slot->group = g;
                col.at[g] = (Group){.first = (int32_t)p, .last_doc = -1};
                if (++groups.used * 2 > groups.size && groups_grow(&groups) < 0) {
                    failed = 1;
                    break;
                }
            }
            Group *grp = &col.at[g];
            grp->count++;
            if (grp->last_doc != (int32_t)doc[p]) {
                grp->docs++;
                grp->last_doc = (int32_t)doc[p];
            }
            grp->aligned += bounds[p] & bounds[p + n];
            group_of[i] = (int32_t)g;
            hash[p] = hash[p] * MULT + last;
        }
        if (!failed) {
            for (int64_t i = 0; i < kept; i++) {
                int64_t p = live[i], g = group_of[i];
                id[p] = (int32_t)g;
                count_at[p] = col.at[g].count;
                level[p] = n;
            }
        }
        expect = n_groups;
        Py_END_ALLOW_THREADS
        if (failed) break;
        /* the groups that reached `prune`, compacted in place (group g's fields to slot `k`) */
        int64_t k = 0;
        uint64_t *keys = malloc(sizeof(uint64_t) * (n_groups + 1));
        int64_t *fields = malloc(sizeof(int64_t) * 4 * (n_groups + 1)); /* count, docs, aligned, first */
        if (!keys || !fields) {
            free(keys);
            free(fields);
            failed = 1;
            break;
        }
        int64_t *counts = fields, *docs = fields + n_groups, *aligned = fields + 2 * n_groups,
                *first = fields + 3 * n_groups;
        for (int64_t g = 0; g < n_groups; g++) {
            const Group *grp = &col.at[g];
            if (grp->count < prune) continue;
            keys[k] = hash[grp->first];
            counts[k] = grp->count;
            docs[k] = grp->docs;
            aligned[k] = grp->aligned;
            first[k] = grp->first;
            k++;
        }
        PyObject *item = Py_BuildValue("(iNNNNN)", n, bytes_of(keys, k), bytes_of(counts, k), bytes_of(docs, k),
                                       bytes_of(aligned, k), bytes_of(first, k));
        free(fields);
        free(keys);
        if (!item || PyList_Append(out, item) < 0) failed = 1;
        Py_XDECREF(item);
        n_live = kept;
    }
    free(id);
    free(count_at);
    free(level);
    free(remaining);
    free(hash);
    free(live);
    free(group_of);
    columns_free(&col);
    groups_free(&groups);
    release(&b);
    if (failed) {
        Py_XDECREF(out);
        return PyErr_Occurred() ? NULL : PyErr_NoMemory();
    }
    return out;
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

/* ------------------------------------------------------------------------------------------------------------ */
/* Spans grouped by their strings (spans.py's `group_spans`: words, Han runs, a tokenizer's pieces).              */

/* group_spans(cps, starts, ends, docs) -> (first, inverse, counts, doc_freq) as int64 bytes
 *
 * The spans cps[starts[i]:ends[i]] (int64 bounds, any order, overlaps allowed) grouped by a 64-bit polynomial hash
 * of their code points and length (collisions ~2**-64 per pair, as everywhere in analyze), groups numbered in order
 * of first appearance: `first[g]` is the first span of group g, `inverse[i]` the group of span i, `counts[g]` its
 * size, `doc_freq[g]` the number of distinct documents among its spans, where docs (int64, one per span) must not
 * decrease from span to span (text order); with empty docs, doc_freq is all zeros. */
static PyObject *group_spans(PyObject *self, PyObject *args) {
    Buffers b = {.count = 4};
    Py_buffer *v = b.v;
    if (!PyArg_ParseTuple(args, "y*y*y*y*", &v[0], &v[1], &v[2], &v[3])) return NULL;
    const uint32_t *cps = v[0].buf;
    const int64_t *starts = v[1].buf, *ends = v[2].buf, *docs = v[3].len ? v[3].buf : NULL;
    int64_t spans = v[1].len / 8, n_groups = 0;
    if (v[2].len != v[1].len || (docs && v[3].len != v[1].len)) {
        release(&b);
        return PyErr_Format(PyExc_ValueError, "group_spans: starts, ends and docs differ in length");
    }
    if (spans >= MAX_POSITIONS || v[0].len / 4 >= MAX_POSITIONS) {
        release(&b);
        return PyErr_Format(PyExc_OverflowError, "group_spans: %lld spans are too many", (long long)spans);
    }
    Group *grp = malloc(sizeof(Group) * (spans + 1));
    int64_t *inverse = malloc(sizeof(int64_t) * (spans + 1));
    Groups groups = {0};
    int bits = 10;
    while (((int64_t)1 << bits) < spans / 2 + 1) bits++;
    int failed = !grp || !inverse || groups_init(&groups, bits) < 0;
    if (!failed) {
        Py_BEGIN_ALLOW_THREADS
        for (int64_t i = 0; i < spans; i++) {
            uint64_t h = 0;
            for (int64_t j = starts[i]; j < ends[i]; j++) h = h * MULT + cps[j];
            h = h * MULT + (uint64_t)(ends[i] - starts[i]);
            Slot *slot = groups_find(&groups, h);
            if (slot->group < 0) {
                slot->key = h;
                slot->group = n_groups;
                grp[n_groups++] = (Group){.first = (int32_t)i, .last_doc = -1};
                if (++groups.used * 2 > groups.size && groups_grow(&groups) < 0) {
                    failed = 1;
                    break;
                }
                slot = groups_find(&groups, h);
            }
            inverse[i] = slot->group;
            Group *g = &grp[slot->group];
            g->count++;
            if (docs && g->last_doc != (int32_t)docs[i]) {
                g->docs++;
                g->last_doc = (int32_t)docs[i];
            }
        }
        Py_END_ALLOW_THREADS
    }
    groups_free(&groups);
    release(&b);
    int64_t *fields = failed ? NULL : malloc(sizeof(int64_t) * 3 * (n_groups + 1));
    PyObject *out = NULL;
    if (fields) {
        for (int64_t g = 0; g < n_groups; g++) {
            fields[g] = grp[g].first;
            fields[n_groups + g] = grp[g].count;
            fields[2 * n_groups + g] = grp[g].docs;
        }
        out = Py_BuildValue("NNNN", bytes_of(fields, n_groups), bytes_of(inverse, spans),
                            bytes_of(fields + n_groups, n_groups), bytes_of(fields + 2 * n_groups, n_groups));
    }
    free(fields);
    free(grp);
    free(inverse);
    if (!out && !PyErr_Occurred()) return PyErr_NoMemory();
    return out;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Lookups in a fixed key set (ngrams.py's `HashIndex.lookup`): one pass where numpy needs eight.                 */

/* The slot of key q in a table of 2**(64 - shift) slots (ngrams.py's `HashIndex._slot`). */
static inline uint64_t index_slot(uint64_t q, int shift) { return ((q ^ (q >> 31)) * REMIX) >> shift; }

/* hash_index(keys, shift) -> (table, shared) as bytes: the slot table `hash_lookup` reads, over 2**(64 - shift)
 * slots: table (int64) holds the index of a key in each slot of the remixed key's top bits (-1: empty; where keys
 * share a slot, one of them), shared (uint8) marks slots that two or more keys share. */
static PyObject *hash_index(PyObject *self, PyObject *args) {
    Buffers b = {.count = 1};
    Py_buffer *v = b.v;
    int shift;
    if (!PyArg_ParseTuple(args, "y*i", &v[0], &shift)) return NULL;
    if (shift < 24 || shift > 63) {
        release(&b);
        return PyErr_Format(PyExc_ValueError, "hash_index: shift %d out of range", shift);
    }
    const uint64_t *keys = v[0].buf;
    int64_t n = v[0].len / 8, slots = (int64_t)1 << (64 - shift);
    PyObject *table = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(8 * slots));
    PyObject *shared = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)slots);
    if (!table || !shared) {
        Py_XDECREF(table);
        Py_XDECREF(shared);
        release(&b);
        return NULL;
    }
    int64_t *t = (int64_t *)PyBytes_AS_STRING(table);
    unsigned char *sh = (unsigned char *)PyBytes_AS_STRING(shared);
    Py_BEGIN_ALLOW_THREADS
    memset(t, 0xFF, 8 * slots);
    memset(sh, 0, slots);
    for (int64_t i = 0; i < n; i++) {
        uint64_t q = keys[i];
        uint64_t slot = index_slot(q, shift);
        if (t[slot] >= 0) sh[slot] = 1;
        t[slot] = i;
    }
    Py_END_ALLOW_THREADS
    release(&b);
    return Py_BuildValue("NN", table, shared);
}

/* hash_lookup(keys, sorted, order, table, shared, shift, queries) -> int64 bytes: the index in `keys` (uint64) of
 * each query, -1 where absent. `table` (int64, 2**(64 - shift) slots) holds a key index per slot of the remixed
 * key's top bits (-1: empty), `shared` (uint8) marks slots that several keys share, where the answer comes from a
 * binary search of `sorted` (the keys in order) and `order` (their indices). */
static PyObject *hash_lookup(PyObject *self, PyObject *args) {
    Buffers b = {.count = 6};
    Py_buffer *v = b.v;
    int shift;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*iy*", &v[0], &v[1], &v[2], &v[3], &v[4], &shift, &v[5])) return NULL;
    const uint64_t *keys = v[0].buf, *sorted = v[1].buf, *queries = v[5].buf;
    const int64_t *order = v[2].buf, *table = v[3].buf;
    const unsigned char *shared = v[4].buf;
    int64_t n = v[0].len / 8, slots = v[3].len / 8, m = v[5].len / 8;
    if (v[1].len != v[0].len || v[2].len != v[0].len || v[4].len != slots || shift < 1 || shift > 63 ||
        slots != ((int64_t)1 << (64 - shift))) {
        release(&b);
        return PyErr_Format(PyExc_ValueError, "hash_lookup: inconsistent index");
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(8 * m));
    if (!out) {
        release(&b);
        return NULL;
    }
    int64_t *found = (int64_t *)PyBytes_AS_STRING(out);
    Py_BEGIN_ALLOW_THREADS
    for (int64_t i = 0; i < m; i++) {
        uint64_t q = queries[i];
        uint64_t slot = index_slot(q, shift);
        int64_t at = table[slot];
        if (at >= 0 && at < n && keys[at] == q) {
            found[i] = at;
        } else if (shared[slot]) {
            int64_t lo = 0, hi = n; /* first sorted key >= q */
            while (lo < hi) {
                int64_t mid = lo + (hi - lo) / 2;
                if (sorted[mid] < q) lo = mid + 1;
                else hi = mid;
            }
            found[i] = lo < n && sorted[lo] == q ? order[lo] : -1;
        } else {
            found[i] = -1;
        }
    }
    Py_END_ALLOW_THREADS
    release(&b);
    return out;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Prefix tables for span hashes (spans.py's `span_hash_tables`): one sequential pass where numpy needs several.  */

/* span_hash_tables(cps, inv_mult) -> (prefix, powers) as uint64 bytes, len(cps) + 1 each: prefix[i] = the sum of
 * cps[j] * inv_mult**j over j < i, powers[i] = MULT**i (all mod 2**64). */
static PyObject *span_hash_tables(PyObject *self, PyObject *args) {
    Buffers b = {.count = 1};
    Py_buffer *v = b.v;
    unsigned long long inv;
    if (!PyArg_ParseTuple(args, "y*K", &v[0], &inv)) return NULL;
    const uint32_t *cps = v[0].buf;
    int64_t n = v[0].len / 4;
    PyObject *prefix = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(8 * (n + 1)));
    PyObject *powers = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(8 * (n + 1)));
    if (!prefix || !powers) {
        Py_XDECREF(prefix);
        Py_XDECREF(powers);
        release(&b);
        return NULL;
    }
    uint64_t *g = (uint64_t *)PyBytes_AS_STRING(prefix), *p = (uint64_t *)PyBytes_AS_STRING(powers);
    Py_BEGIN_ALLOW_THREADS
    uint64_t q = 1, m = 1;
    g[0] = 0;
    p[0] = 1;
    for (int64_t i = 0; i < n; i++) {
        g[i + 1] = g[i] + cps[i] * q;
        q *= inv;
        m *= MULT;
        p[i + 1] = m;
    }
    Py_END_ALLOW_THREADS
    release(&b);
    return Py_BuildValue("NN", prefix, powers);
}

static PyMethodDef methods[] = {
    {"count_ngrams", count_ngrams, METH_VARARGS, "Han n-gram tables of one shard (see the C source)."},
    {"gpt2_pretokenize", gpt2_pretokenize, METH_VARARGS, "GPT-2 pre-token ends (see the C source)."},
    {"group_spans", group_spans, METH_VARARGS, "Spans grouped by their strings (see the C source)."},
    {"hash_index", hash_index, METH_VARARGS, "The slot table of a fixed key set (see the C source)."},
    {"hash_lookup", hash_lookup, METH_VARARGS, "Lookups in a fixed key set (see the C source)."},
    {"span_hash_tables", span_hash_tables, METH_VARARGS, "Prefix tables for span hashes (see the C source)."},
    {"jieba_index", jieba_index, METH_VARARGS, "The hash table of jieba's dictionary (see the C source)."},
    {"learn_bpe", learn_bpe, METH_VARARGS, "Continued BPE scored out of sample (see _learn.c)."},
    {"jieba_cut", jieba_cut, METH_VARARGS, "jieba's accurate-mode pieces as lengths (see the C source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", "Compiled kernels for vocabx analyze.", -1,
                                    methods};

/* Bumped whenever a signature or a result changes: `kernels.py` ignores a stale build of another version. */
#define KERNELS_VERSION 15

PyMODINIT_FUNC PyInit__kernels(void) {
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "VERSION", KERNELS_VERSION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
