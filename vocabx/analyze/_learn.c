/* Continued BPE over a base tokenization, scored out of sample (`vocabx.analyze.learn` has the method).
 *
 * Words are sequences of symbol ids (base token ids, pending characters, then new merges), each with a weight in
 * part A and part B of the documents. A pair occurrence is *counted* (it may make its pair win) only where the
 * boundary between its two symbols allows (`ok`, per original position): term shape forbids some boundaries. A
 * chosen merge is *applied* at every occurrence, counted or not, as the real tokenizer applies it, so the
 * savings recorded per merge are those of the tokenizer the merges build (leftmost first, as `tokenizers`' BPE).
 *
 * A pending symbol is a character the base spells in several tokens that cannot merge (SentencePiece's byte
 * fallback): it costs `cost[s]` tokens, pairs holding it wait (are parked) until an action gives it a piece of
 * its own, which saves (cost - 1) per occurrence. */
#include "_kernels.h"

typedef struct {
    int32_t *at;
    int32_t len, cap;
} Vec;

static int vec_push(Vec *v, int32_t x) {
    if (v->len == v->cap) {
        int32_t cap = v->cap ? v->cap * 2 : 4;
        int32_t *grown = realloc(v->at, sizeof(int32_t) * cap);
        if (!grown) return -1;
        v->at = grown;
        v->cap = cap;
    }
    v->at[v->len++] = x;
    return 0;
}

typedef struct {
    int64_t score;
    int32_t item; /* a pair index, or -(symbol + 1) for a pending symbol's action */
} Item;

typedef struct {
    Item *at;
    int64_t len, cap;
} Heap;

static inline int item_better(const Item *a, const Item *b) {
    return a->score > b->score || (a->score == b->score && a->item < b->item);
}

static int heap_push(Heap *h, int64_t score, int32_t item) {
    if (h->len == h->cap) {
        int64_t cap = h->cap ? h->cap * 2 : 1024;
        Item *grown = realloc(h->at, sizeof(Item) * cap);
        if (!grown) return -1;
        h->at = grown;
        h->cap = cap;
    }
    int64_t i = h->len++;
    h->at[i] = (Item){score, item};
    while (i > 0) {
        int64_t up = (i - 1) / 2;
        if (!item_better(&h->at[i], &h->at[up])) break;
        Item t = h->at[i];
        h->at[i] = h->at[up];
        h->at[up] = t;
        i = up;
    }
    return 0;
}

static Item heap_pop(Heap *h) {
    Item top = h->at[0];
    h->at[0] = h->at[--h->len];
    int64_t i = 0, n = h->len;
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && item_better(&h->at[l], &h->at[m])) m = l;
        if (r < n && item_better(&h->at[r], &h->at[m])) m = r;
        if (m == i) break;
        Item t = h->at[i];
        h->at[i] = h->at[m];
        h->at[m] = t;
        i = m;
    }
    return top;
}

typedef struct {
    uint64_t key; /* a << 32 | b */
    int64_t ca, cb; /* counted occurrences in part A and part B */
    int64_t queued; /* the highest score the heap holds for the pair (entries only grow stale downwards) */
    Vec words; /* the words it occurs in (a word may repeat) */
    uint32_t stamp;
    int32_t into; /* the symbol a learned pair merges into, -1 if not learned */
} Pair;

typedef struct {
    /* pair table: open addressing on (a << 32 | b) */
    uint64_t *slot_key;
    int32_t *slot_pair;
    int64_t slots;
    Pair *pr; /* per pair, its fields side by side: a count update touches one cache line */
    int32_t n_pairs, cap_pairs;
    /* per symbol */
    int32_t *cost;
    int64_t *ua, *ub; /* occurrences of pending symbols, per part */
    Vec *parked;
    int32_t n_syms;
    /* words */
    int32_t *sym, *off, *len;
    uint8_t *okp; /* per position: `ok` of the symbol there (a merged symbol keeps its left part's) */
    const int64_t *wa, *wb;
    const uint8_t *ok;
    uint32_t *wstamp;
    int32_t n_words;
    int scoring; /* 0: A + B; 1: 2 * min(A, B); 2: A + B where both parts hold the pair, else 0; 3: 2AB / (A + B) */
    Heap heap;
    Vec touched;
    uint32_t clock;
} Learner;

static inline int32_t cost_of(const Learner *L, int32_t s) { return s < L->n_syms ? L->cost[s] : 1; }

static inline int64_t score_of(const Learner *L, int64_t a, int64_t b) {
    switch (L->scoring) {
    case 1: return 2 * (a < b ? a : b);
    case 2: return a > 0 && b > 0 ? a + b : 0;
    case 3: return a + b > 0 ? (2 * a * b) / (a + b) : 0;
    default: return a + b;
    }
}

static int grow_slots(Learner *L);

/* The index of pair (a, b), created with zero counts if new; -1 if out of memory. */
static int32_t pair_index(Learner *L, int32_t a, int32_t b) {
    uint64_t k = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    if (2 * (int64_t)(L->n_pairs + 1) > L->slots && grow_slots(L) < 0) return -1;
    uint64_t mask = (uint64_t)L->slots - 1, s = mix(k) & mask;
    while (L->slot_pair[s] >= 0) {
        if (L->slot_key[s] == k) return L->slot_pair[s];
        s = (s + 1) & mask;
    }
    if (L->n_pairs == L->cap_pairs) {
        int32_t cap = L->cap_pairs ? L->cap_pairs * 2 : 1024;
        Pair *pr = realloc(L->pr, sizeof(Pair) * cap);
        if (!pr) return -1;
        L->pr = pr;
        L->cap_pairs = cap;
    }
    int32_t p = L->n_pairs++;
    L->pr[p] = (Pair){.key = k, .into = -1};
    L->slot_key[s] = k;
    L->slot_pair[s] = p;
    return p;
}

/* The index of pair (a, b), or -1 if it was never seen. */
static int32_t pair_find(const Learner *L, int32_t a, int32_t b) {
    uint64_t k = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint64_t mask = (uint64_t)L->slots - 1, s = mix(k) & mask;
    while (L->slot_pair[s] >= 0) {
        if (L->slot_key[s] == k) return L->slot_pair[s];
        s = (s + 1) & mask;
    }
    return -1;
}

static int grow_slots(Learner *L) {
    int64_t slots = L->slots ? L->slots * 2 : 1 << 16;
    uint64_t *keys = malloc(sizeof(uint64_t) * slots);
    int32_t *pairs = malloc(sizeof(int32_t) * slots);
    if (!keys || !pairs) {
        free(keys);
        free(pairs);
        return -1;
    }
    for (int64_t s = 0; s < slots; s++) pairs[s] = -1;
    uint64_t mask = (uint64_t)slots - 1;
    for (int32_t p = 0; p < L->n_pairs; p++) {
        uint64_t s = mix(L->pr[p].key) & mask;
        while (pairs[s] >= 0) s = (s + 1) & mask;
        keys[s] = L->pr[p].key;
        pairs[s] = p;
    }
    free(L->slot_key);
    free(L->slot_pair);
    L->slot_key = keys;
    L->slot_pair = pairs;
    L->slots = slots;
    return 0;
}

/* Add `sign` times word w's weights to the pair at positions k, k + 1 of w (counted only where `ok` allows) and
 * remember the pair as touched; on adding, the word joins the pair's list. `p`: the pair's index if the caller
 * knows it, else -1. */
static int count_pair(Learner *L, int32_t w, int32_t k, int sign, int32_t p) {
    int32_t *s = L->sym + L->off[w];
    if (p < 0) p = pair_index(L, s[k], s[k + 1]);
    if (p < 0) return -1;
    if (L->okp[L->off[w] + k + 1]) {
        L->pr[p].ca += sign * L->wa[w];
        L->pr[p].cb += sign * L->wb[w];
    }
    Vec *words = &L->pr[p].words; /* a word repeats in the list only where other words came between */
    if (sign > 0 && (!words->len || words->at[words->len - 1] != w) && vec_push(words, w) < 0) return -1;
    if (L->pr[p].stamp != L->clock) {
        L->pr[p].stamp = L->clock;
        if (vec_push(&L->touched, p) < 0) return -1;
    }
    return 0;
}

/* Merge the symbols at k, k + 1 of word w (pair p) into c, moving the pair counts; savings into *sa, *sb. */
static int merge_at(Learner *L, int32_t w, int32_t k, int32_t p, int32_t c, int64_t *sa, int64_t *sb) {
    int32_t *s = L->sym + L->off[w];
    uint8_t *d = L->okp + L->off[w];
    if ((k > 0 && count_pair(L, w, k - 1, -1, -1) < 0) || count_pair(L, w, k, -1, p) < 0 ||
        (k + 2 < L->len[w] && count_pair(L, w, k + 1, -1, -1) < 0))
        return -1;
    s[k] = c;
    memmove(s + k + 1, s + k + 2, sizeof(int32_t) * (L->len[w] - k - 2));
    memmove(d + k + 1, d + k + 2, L->len[w] - k - 2);
    L->len[w]--;
    *sa += L->wa[w];
    *sb += L->wb[w];
    if ((k > 0 && count_pair(L, w, k - 1, 1, -1) < 0) || (k + 1 < L->len[w] && count_pair(L, w, k, 1, -1) < 0))
        return -1;
    return 0;
}

/* After a merge made the symbol at k: a learned pair it now forms with a neighbour merges at once, the earlier
 * learned first, as the tokenizer's merge loop (lowest rank first) does. Returns the position of the result. */
static int follow(Learner *L, int32_t w, int32_t k, int64_t *sa, int64_t *sb) {
    for (;;) {
        int32_t *s = L->sym + L->off[w];
        int32_t lp = k > 0 ? pair_find(L, s[k - 1], s[k]) : -1;
        int32_t rp = k + 1 < L->len[w] ? pair_find(L, s[k], s[k + 1]) : -1;
        int32_t li = lp >= 0 ? L->pr[lp].into : -1, ri = rp >= 0 ? L->pr[rp].into : -1;
        if (li < 0 && ri < 0) return k;
        if (li >= 0 && (ri < 0 || li < ri)) {
            if (merge_at(L, w, k - 1, lp, li, sa, sb) < 0) return -1;
            k--;
        } else if (merge_at(L, w, k, rp, ri, sa, sb) < 0) {
            return -1;
        }
    }
}

enum { PREFETCH_AHEAD = 8 }; /* words ahead in a pair's list whose memory apply_merge requests early */

/* Merge every occurrence of pair p into symbol c, leftmost first in each word; savings per part into *sa, *sb. */
static int apply_merge(Learner *L, int32_t p, int32_t c, int64_t *sa, int64_t *sb) {
    int32_t a = (int32_t)(L->pr[p].key >> 32), b = (int32_t)(L->pr[p].key & 0xFFFFFFFFu);
    Vec list = L->pr[p].words;
    L->pr[p].words = (Vec){0};
    L->pr[p].into = c;
    for (int32_t i = 0; i < list.len; i++) {
        int32_t w = list.at[i];
        if (i + PREFETCH_AHEAD < list.len) { /* the words lie scattered: fetch a later one's symbols now */
            int32_t ahead = list.at[i + PREFETCH_AHEAD];
            __builtin_prefetch(L->sym + L->off[ahead]);
            __builtin_prefetch(L->okp + L->off[ahead]);
            __builtin_prefetch(L->wstamp + ahead);
        }
        if (L->wstamp[w] == L->clock) continue;
        L->wstamp[w] = L->clock;
        for (int32_t k = 0; k + 1 < L->len[w]; k++) {
            int32_t *s = L->sym + L->off[w];
            if (s[k] != a || s[k + 1] != b) continue;
            if (merge_at(L, w, k, p, c, sa, sb) < 0 || (k = follow(L, w, k, sa, sb)) < 0) goto fail;
        }
    }
    free(list.at);
    return 0;
fail:
    free(list.at);
    return -1;
}

/* Queue a pair at its current score. Only a rise needs an entry: after a fall the older, higher entry is still
 * queued and is re-queued at the current score when it comes out (`step`), so the heap stays small. */
static int queue_pair(Learner *L, int32_t p, int force) {
    int64_t sc = score_of(L, L->pr[p].ca, L->pr[p].cb);
    if (sc <= 0 || (!force && sc <= L->pr[p].queued)) return 0;
    L->pr[p].queued = sc;
    return heap_push(&L->heap, sc, p);
}

static int push_touched(Learner *L) {
    for (int32_t i = 0; i < L->touched.len; i++)
        if (queue_pair(L, L->touched.at[i], 0) < 0) return -1;
    L->touched.len = 0;
    return 0;
}

static int64_t pending_score(const Learner *L, int32_t s) {
    return score_of(L, L->ua[s], L->ub[s]) * (L->cost[s] - 1);
}

static void learner_free(Learner *L) {
    for (int32_t p = 0; p < L->n_pairs; p++) free(L->pr[p].words.at);
    for (int32_t s = 0; s < L->n_syms; s++) free(L->parked[s].at);
    free(L->slot_key), free(L->slot_pair), free(L->pr);
    free(L->cost), free(L->ua), free(L->ub), free(L->parked), free(L->sym), free(L->okp);
    free(L->off), free(L->len), free(L->wstamp), free(L->heap.at), free(L->touched.at);
}

/* Set up words, pair counts and the heap. */
static int learner_init(Learner *L, const int32_t *sym, int64_t n_pos, const int64_t *word_end, const int32_t *cost,
                        int32_t n_syms) {
    L->sym = malloc(sizeof(int32_t) * (n_pos + 1));
    L->okp = malloc(n_pos + 1);
    L->off = malloc(sizeof(int32_t) * (L->n_words + 1));
    L->len = malloc(sizeof(int32_t) * (L->n_words + 1));
    L->wstamp = calloc(L->n_words + 1, sizeof(uint32_t));
    L->cost = malloc(sizeof(int32_t) * n_syms);
    L->ua = calloc(n_syms, sizeof(int64_t));
    L->ub = calloc(n_syms, sizeof(int64_t));
    L->parked = calloc(n_syms, sizeof(Vec));
    if (!L->sym || !L->okp || !L->off || !L->len || !L->wstamp || !L->cost || !L->ua || !L->ub || !L->parked)
        return -1;
    L->n_syms = n_syms;
    memcpy(L->sym, sym, sizeof(int32_t) * n_pos);
    memcpy(L->okp, L->ok, n_pos);
    memcpy(L->cost, cost, sizeof(int32_t) * n_syms);
    int64_t start = 0;
    L->clock = 1;
    for (int32_t w = 0; w < L->n_words; w++) {
        L->off[w] = (int32_t)start;
        L->len[w] = (int32_t)(word_end[w] - start);
        for (int32_t k = 0; k < L->len[w]; k++) {
            int32_t s = L->sym[start + k];
            if (cost_of(L, s) > 1) {
                L->ua[s] += L->wa[w];
                L->ub[s] += L->wb[w];
            }
            if (k + 1 < L->len[w] && count_pair(L, w, k, 1, -1) < 0) return -1;
        }
        start = word_end[w];
    }
    if (push_touched(L) < 0) return -1;
    for (int32_t s = 0; s < n_syms; s++) {
        int64_t sc = L->cost[s] > 1 ? pending_score(L, s) : 0;
        if (sc > 0 && heap_push(&L->heap, sc, -(s + 1)) < 0) return -1;
    }
    return 0;
}

/* One step: pop the best action and take it. Returns 1 if an entry was made (out_* filled), 0 if the heap's
 * entry was stale or parked, -2 when nothing left scores `min_score`, -1 when out of memory. */
static int step(Learner *L, int64_t min_score, int32_t next_id, int32_t *left, int32_t *right, int64_t *sa,
                int64_t *sb) {
    if (!L->heap.len) return -2;
    Item top = heap_pop(&L->heap);
    if (top.score < min_score) return -2;
    *sa = *sb = 0;
    if (top.item < 0) { /* a pending character gets a piece of its own */
        int32_t s = -top.item - 1;
        if (cost_of(L, s) <= 1 || pending_score(L, s) != top.score) return 0;
        *sa = L->ua[s] * (L->cost[s] - 1);
        *sb = L->ub[s] * (L->cost[s] - 1);
        L->cost[s] = 1;
        L->clock++;
        for (int32_t i = 0; i < L->parked[s].len; i++)
            if (queue_pair(L, L->parked[s].at[i], 1) < 0) return -1;
        L->parked[s].len = 0;
        *left = s;
        *right = -1;
        return 1;
    }
    int32_t p = top.item;
    if (score_of(L, L->pr[p].ca, L->pr[p].cb) != top.score) { /* stale: fell since; queue it at its score now */
        L->pr[p].queued = 0;
        return queue_pair(L, p, 1) < 0 ? -1 : 0;
    }
    int32_t a = (int32_t)(L->pr[p].key >> 32), b = (int32_t)(L->pr[p].key & 0xFFFFFFFFu);
    if (cost_of(L, a) > 1 || cost_of(L, b) > 1) { /* waits for its character's piece: queued again then */
        L->pr[p].queued = 0;
        if (vec_push(&L->parked[cost_of(L, a) > 1 ? a : b], p) < 0) return -1;
        return 0;
    }
    L->clock++;
    if (apply_merge(L, p, next_id, sa, sb) < 0 || push_touched(L) < 0) return -1;
    *left = a;
    *right = b;
    return 1;
}

/* learn_bpe(sym, word_end, wa, wb, ok, cost, first_new, budget, min_score, scoring)
 *     -> (left, right, saved_a, saved_b) as int32/int32/int64/int64 bytes, one row per entry.
 *
 * sym (int32): the words' symbols laid end to end; ok (uint8, per position): 1 where a pair whose right symbol
 * starts there may be counted (a merged symbol keeps the position of its left part); word_end (int64):
 * end of each word in sym; wa, wb (int64): the word's weight in part A and in part B; cost (int32, per symbol id
 * below first_new): tokens the symbol costs (> 1: a pending character). Entries are merges (right >= 0: the new
 * symbol is first_new + the number of merges before it) or pieces for pending characters (right = -1). */
PyObject *learn_bpe(PyObject *self, PyObject *args) {
    Buffers bufs = {.count = 6};
    Py_buffer *v = bufs.v;
    int first_new, budget, scoring;
    long long min_score;
    if (!PyArg_ParseTuple(args, "y*y*y*y*y*y*iiLi", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &first_new, &budget,
                          &min_score, &scoring))
        return NULL;
    Learner L = {0};
    int64_t n_pos = v[0].len / 4;
    L.n_words = (int32_t)(v[1].len / 8);
    L.wa = v[2].buf;
    L.wb = v[3].buf;
    L.ok = v[4].buf;
    L.scoring = scoring;
    int32_t *left = malloc(sizeof(int32_t) * (budget + 1)), *right = malloc(sizeof(int32_t) * (budget + 1));
    int64_t *sa = malloc(sizeof(int64_t) * (budget + 1)), *sb = malloc(sizeof(int64_t) * (budget + 1));
    int failed = !left || !right || !sa || !sb;
    int32_t made = 0, merges = 0;
    Py_BEGIN_ALLOW_THREADS
    if (!failed) failed = learner_init(&L, v[0].buf, n_pos, v[1].buf, v[5].buf, (int32_t)(v[5].len / 4)) < 0;
    while (!failed && made < budget) {
        int r = step(&L, min_score, first_new + merges, &left[made], &right[made], &sa[made], &sb[made]);
        if (r == -2) break;
        if (r < 0) failed = 1;
        if (r == 1) {
            merges += right[made] >= 0;
            made++;
        }
    }
    learner_free(&L);
    Py_END_ALLOW_THREADS
    release(&bufs);
    PyObject *out = NULL;
    if (failed)
        PyErr_NoMemory();
    else
        out = Py_BuildValue("y#y#y#y#", (char *)left, (Py_ssize_t)made * 4, (char *)right, (Py_ssize_t)made * 4,
                            (char *)sa, (Py_ssize_t)made * 8, (char *)sb, (Py_ssize_t)made * 8);
    free(left), free(right), free(sa), free(sb);
    return out;
}
