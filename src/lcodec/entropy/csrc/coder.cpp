// CPU implementation of the entropy coder. Chunks are independent, so they run on a small pool
// of std::threads; within a chunk, lanes are interleaved so the CPU overlaps their dependency
// chains. Renormalisation is branch-free: its direction is data-dependent and would mispredict.
#include "coder.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <thread>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define LCE_X86_SIMD 1
#include <immintrin.h>
#else
#define LCE_X86_SIMD 0
#endif

#if defined(__GNUC__) || defined(__clang__)
#define LCE_PREFETCH(p) __builtin_prefetch(p)
#else
#define LCE_PREFETCH(p) ((void)0)
#endif

namespace lce {

// Up to this many slots in all (512 KB of entries: they stay in L2), the vector decoder uses
// 8-byte per-slot entries; above, the compact layout (see Tables::slot_steps).
constexpr uint32_t kWideSlotsMax = 1u << 16;
constexpr uint64_t kSlackWords = 8;

namespace {

std::string fmt_table_error(size_t k, const std::string& what) { return "table " + std::to_string(k) + ": " + what; }

// Runs f(i) for i in [0, n) on up to `threads` threads; rethrows the error of the lowest i.
template <class F>
void parallel_for(size_t n, int threads, F f) {
    std::vector<std::exception_ptr> errors(n);
    auto guarded = [&](size_t i) {
        try {
            f(i);
        } catch (...) {
            errors[i] = std::current_exception();
        }
    };
    const size_t nt = std::min<size_t>((size_t)std::max(threads, 1), n);
    if (nt <= 1) {
        for (size_t i = 0; i < n; ++i) guarded(i);
    } else {
        std::atomic<size_t> next{0};
        auto work = [&] {
            for (size_t i; (i = next.fetch_add(1)) < n;) guarded(i);
        };
        std::vector<std::thread> pool;
        for (size_t t = 1; t < nt; ++t) pool.emplace_back(work);
        work();
        for (auto& th : pool) th.join();
    }
    for (auto& e : errors)
        if (e) std::rethrow_exception(e);
}

struct EncodedChunk {
    uint16_t* top = nullptr;          // end of this chunk's word area (n + 1 words, see WordArea)
    const uint16_t* begin = nullptr;  // words in stream order: [begin, top)
    uint32_t n_words = 0;
    uint32_t lanes = 0;
    uint32_t states[kMaxLanes];
    std::vector<uint64_t> esc;  // escaped values in symbol order
};

// Visits a chunk's symbols in encode order (last to first); symbol t lives in lane t % W.
template <int WC, class Step>
inline void reverse_lanes(uint64_t n, int w_rt, Step&& step) {
    const int W = WC ? WC : w_rt;
    const uint64_t full = n / W;
    const int rem = (int)(n % W);
    for (int j = rem - 1; j >= 0; --j) step(j, full * W + j);
    for (uint64_t g = full; g-- > 0;) {
        const uint64_t b = g * W;
        for (int j = W - 1; j >= 0; --j) step(j, b + j);
    }
}

// Visits a chunk's symbols in decode order; `checked` is false while a whole group's worth of
// words remains, so the common path reads a word speculatively and needs no bounds test.
template <int WC, class Step>
inline void forward_lanes(uint64_t n, int w_rt, const uint8_t*& p, const uint8_t* end, Step&& step) {
    const int W = WC ? WC : w_rt;
    const uint64_t full = n / W;
    const int rem = (int)(n % W);
    for (uint64_t g = 0; g < full; ++g) {
        const uint64_t b = g * W;
        if (end - p >= 2 * W) {
            for (int j = 0; j < W; ++j) step(j, b + j, std::false_type{});
        } else {
            for (int j = 0; j < W; ++j) step(j, b + j, std::true_type{});
        }
    }
    for (int j = 0; j < rem; ++j) step(j, full * W + j, std::true_type{});
}

template <class Checked>
inline uint32_t renorm_read(uint32_t x, const uint8_t*& p, const uint8_t* end, Checked) {
    if constexpr (Checked::value) {
        if (x < kStateLow) {
            if (p == end) throw StreamError("corrupt or truncated stream: ran out of words");
            x = (x << 16) | load_u16(p);
            p += 2;
        }
        return x;
    } else {
        const uint32_t r = x < kStateLow;
        const uint32_t w = load_u16(p);
        x = r ? (x << 16) | w : x;
        p += 2 * r;
        return x;
    }
}

void finish_chunk(EncodedChunk& c, uint16_t* p, uint16_t* top, const uint32_t* x) {
    c.begin = p;
    c.n_words = (uint32_t)(top - p);
    std::copy(x, x + c.lanes, c.states);
}

// First position whose index is outside [0, K), or -1. A separate pass the compiler vectorises,
// so the coding loops need no bounds test.
int64_t first_bad_index(IndexSource idx, uint64_t n, uint32_t K) {
    if (!idx.mask) return n && (uint32_t)idx[0] >= K ? 0 : -1;
    uint32_t bad = 0;
    for (uint64_t t = 0; t < n; ++t) bad |= (uint32_t)((uint32_t)idx[t] >= K);
    if (!bad) return -1;
    for (uint64_t t = 0; t < n; ++t)
        if ((uint32_t)idx[t] >= K) return (int64_t)t;
    return -1;
}

void check_indexes(IndexSource idx, uint64_t first, uint64_t n, uint32_t K) {
    const int64_t b = first_bad_index(idx, n, K);
    if (b >= 0)
        throw InputError("indexes[" + std::to_string(first + b) + "] = " + std::to_string(idx[b]) +
                         " is outside [0, " + std::to_string(K) + ")");
}

#if LCE_X86_SIMD
bool cpu_has_avx2();

// For mask m: the lanes set in m, in ascending order, moved to the top positions 8 - popcount(m)
// .. 7 (the vector encoder's words go right below the words already written).
struct CompressLut {
    alignas(32) int32_t v[256][8];
    CompressLut() {
        for (int m = 0; m < 256; ++m) {
            int k = 8 - __builtin_popcount((unsigned)m);
            for (int i = 0; i < 8; ++i) v[m][i] = 0;
            for (int i = 0; i < 8; ++i)
                if ((m >> i) & 1) v[m][k++] = i;
        }
    }
};

// Rows i[0..7] of a table of 16-byte rows (four 32-bit fields), as four vectors of one field each:
// eight loads and a transpose, cheaper than four gathers.
__attribute__((target("avx2"))) inline void load_rows(const int32_t* table, const uint32_t* i, __m256i f[4]) {
    auto row = [&](int k) { return _mm_loadu_si128((const __m128i*)(table + 4 * (size_t)i[k])); };
    const __m256i a0 = _mm256_inserti128_si256(_mm256_castsi128_si256(row(0)), row(4), 1);
    const __m256i a1 = _mm256_inserti128_si256(_mm256_castsi128_si256(row(1)), row(5), 1);
    const __m256i a2 = _mm256_inserti128_si256(_mm256_castsi128_si256(row(2)), row(6), 1);
    const __m256i a3 = _mm256_inserti128_si256(_mm256_castsi128_si256(row(3)), row(7), 1);
    const __m256i t0 = _mm256_unpacklo_epi32(a0, a1), t1 = _mm256_unpacklo_epi32(a2, a3);
    const __m256i t2 = _mm256_unpackhi_epi32(a0, a1), t3 = _mm256_unpackhi_epi32(a2, a3);
    f[0] = _mm256_unpacklo_epi64(t0, t1);
    f[1] = _mm256_unpackhi_epi64(t0, t1);
    f[2] = _mm256_unpacklo_epi64(t2, t3);
    f[3] = _mm256_unpackhi_epi64(t2, t3);
}

// Encodes the whole groups [0, groups) of a 32-lane chunk, last group first, four 8-lane vectors
// per group (lanes 24..31 first, as the scalar coder goes 31 .. 0). Indexes are already checked.
__attribute__((target("avx2"))) void encode_groups_avx2(const int32_t* sym, IndexSource idx, uint64_t groups,
                                                       const Tables& T, uint32_t* x, uint16_t*& p_io,
                                                       std::vector<uint64_t>& esc) {
    static const CompressLut lut;
    const int32_t* info = (const int32_t*)T.info.data();
    const int32_t* ev = (const int32_t*)T.enc_vec().data();
    const __m256i sgn = _mm256_set1_epi32(INT32_MIN), lo16 = _mm256_set1_epi32(0xffff);
    __m256i X[4];
    for (int v = 0; v < 4; ++v) X[v] = _mm256_loadu_si256((const __m256i*)(x + 8 * v));
    uint16_t* p = p_io;
    for (uint64_t g = groups; g-- > 0;) {
        for (int v = 3; v >= 0; --v) {
            const uint64_t t0 = 32 * g + 8 * v;
            const __m256i S = _mm256_loadu_si256((const __m256i*)(sym + t0));
            const __m256i I = idx.mask ? _mm256_loadu_si256((const __m256i*)(idx.p + t0)) : _mm256_set1_epi32(idx.p[0]);
            alignas(32) uint32_t ix[8];
            __m256i ti[4], es[4];  // TableInfo fields: offset, nsym, base; enc_vec fields
            if (idx.mask) {
                _mm256_store_si256((__m256i*)ix, I);
                load_rows(info, ix, ti);
            } else {
                const TableInfo& one = T.info[idx.p[0]];
                ti[0] = _mm256_set1_epi32(one.offset);
                ti[1] = _mm256_set1_epi32((int)one.nsym);
                ti[2] = _mm256_set1_epi32((int)one.base);
            }
            const __m256i D = _mm256_sub_epi32(S, ti[0]);
            // D < nsym unsigned: exact because offset + nsym - 1 fits an int32 (Tables checks it)
            const __m256i in = _mm256_cmpgt_epi32(_mm256_xor_si256(ti[1], sgn), _mm256_xor_si256(D, sgn));
            _mm256_store_si256((__m256i*)ix, _mm256_add_epi32(ti[2], _mm256_blendv_epi8(ti[1], D, in)));
            load_rows(ev, ix, es);
            const __m256i RCP = es[0], XMAX = es[1], BIAS = es[2], CS = es[3];
            __m256i x8 = X[v];
            const __m256i emit = _mm256_cmpgt_epi32(_mm256_xor_si256(x8, sgn), _mm256_xor_si256(XMAX, sgn));
            const int m = _mm256_movemask_ps(_mm256_castsi256_ps(emit));
            if (m) {  // emitting lanes' low halves, in lane order, end right below p
                __m256i w = _mm256_and_si256(_mm256_permutevar8x32_epi32(x8, _mm256_load_si256((const __m256i*)lut.v[m])), lo16);
                w = _mm256_permute4x64_epi64(_mm256_packus_epi32(w, w), 0x08);
                _mm_storeu_si128((__m128i*)(p - 8), _mm256_castsi256_si128(w));
                p -= __builtin_popcount((unsigned)m);
                x8 = _mm256_blendv_epi8(x8, _mm256_srli_epi32(x8, 16), emit);
            }
            // q = floor(x / freq) = (t + ((x - t) >> 1)) >> s with t = mulhi(x, rcp)
            const __m256i te = _mm256_srli_epi64(_mm256_mul_epu32(x8, RCP), 32);
            const __m256i to = _mm256_mul_epu32(_mm256_srli_epi64(x8, 32), _mm256_srli_epi64(RCP, 32));
            const __m256i t = _mm256_blend_epi32(te, to, 0xAA);
            const __m256i q = _mm256_srlv_epi32(_mm256_add_epi32(t, _mm256_srli_epi32(_mm256_sub_epi32(x8, t), 1)),
                                                _mm256_srli_epi32(CS, 16));
            X[v] = _mm256_add_epi32(_mm256_add_epi32(x8, BIAS), _mm256_mullo_epi32(q, _mm256_and_si256(CS, lo16)));
            if (const int e = ~_mm256_movemask_ps(_mm256_castsi256_ps(in)) & 0xff) {  // rare: escapes, lanes 7 .. 0
                for (int i = 7; i >= 0; --i) {
                    if (!((e >> i) & 1)) continue;
                    const TableInfo& ti = T.info[idx[t0 + i]];
                    esc.push_back(escape_code((int64_t)sym[t0 + i] - ti.offset, ti.nsym));
                }
            }
        }
    }
    for (int v = 0; v < 4; ++v) _mm256_storeu_si256((__m256i*)(x + 8 * v), X[v]);
    p_io = p;
}
#endif

template <int WC>
void encode_indexed_chunk(const int32_t* sym, IndexSource idx, uint64_t first, uint64_t n, const Tables& T,
                          EncodedChunk& c, bool simd) {
    uint16_t* const top = c.top;
    uint16_t* p = top;
    uint32_t x[kMaxLanes];
    std::fill(x, x + kMaxLanes, kStateLow);
    const int prec = T.precision;
    const TableInfo* info = T.info.data();
    const EncSym* esym = T.esym.data();
    check_indexes(idx, first, n, T.K);
    auto step = [&](int j, uint64_t t) {
        const TableInfo ti = info[idx[t]];
        const int64_t d = (int64_t)sym[t] - ti.offset;
        uint32_t s = (uint32_t)d;
        if ((uint64_t)d >= ti.nsym) {  // rare: pushed in encode order, reversed at the end
            s = ti.nsym;
            c.esc.push_back(escape_code(d, ti.nsym));
        }
        x[j] = enc_put(x[j], esym[ti.base + s], prec, p);
    };
#if LCE_X86_SIMD
    if (WC == 32 && simd) {
        const uint64_t full = n / 32;
        for (int j = (int)(n % 32) - 1; j >= 0; --j) step(j, 32 * full + j);  // the partial last group
        encode_groups_avx2(sym, idx, full, T, x, p, c.esc);
    } else {
        reverse_lanes<WC>(n, (int)c.lanes, step);
    }
#else
    (void)simd;
    reverse_lanes<WC>(n, (int)c.lanes, step);
#endif
    std::reverse(c.esc.begin(), c.esc.end());
    finish_chunk(c, p, top, x);
}

// Escaped values of a chunk, read in symbol order.
struct EscapeReader {
    BitReader bits;
    uint32_t left;
    int width;
    int32_t next(int32_t offset, uint32_t nsym) {
        if (left == 0) throw StreamError("corrupt stream: more escaped values than recorded");
        --left;
        int32_t v;
        if (!escape_value(bits.read(width), offset, nsym, &v))
            throw StreamError("corrupt stream: escaped value outside the int32 range");
        return v;
    }
};

#if LCE_X86_SIMD
// AVX2 decoder for 32-lane chunks: four 8-lane vectors per group, table lookups by gather, and
// the group's words handed to the lanes that need them by a permutation from a 256-entry table
// (lane i takes word number popcount(need & below(i))), which is the scalar order of §2.
struct ExpandLut {
    alignas(32) int32_t v[256][8];
    ExpandLut() {
        for (int m = 0; m < 256; ++m)
            for (int i = 0, k = 0; i < 8; ++i) v[m][i] = (m >> i) & 1 ? k++ : 0;
    }
};

bool cpu_has_avx2() {
    static const bool yes = __builtin_cpu_supports("avx2");
    return yes;
}

// One 8-lane step. Everything stays in registers: the word pointer goes in and out by value
// and escapes are only flagged here (their raw values are read after the group, in order).
// Lookup tables of the vector decoder (see Tables::slot_steps).
struct VecTables {
    const uint32_t* steps;      // per slot (small tables), or
    const uint16_t* slots;      // per slot, with
    const int32_t* bases;       // per table and
    const uint32_t* sym_steps;  // per symbol (large tables)
};

template <bool Compact>
__attribute__((target("avx2"))) inline __m256i avx2_step(__m256i X, IndexSource idx, int32_t* out,
                                                         const uint8_t*& p, const VecTables& vt, int prec,
                                                         __m256i kmax, __m256i& bad, const ExpandLut& lut,
                                                         bool prefetch, unsigned& esc) {
    const __m128i sh = _mm_cvtsi32_si128(prec);
    const __m256i lo16 = _mm256_set1_epi32(0xffff);
    const __m256i mask = _mm256_set1_epi32((1 << prec) - 1);
    const __m256i I0 = idx.mask ? _mm256_loadu_si256((const __m256i*)idx.p) : _mm256_set1_epi32(idx.p[0]);
    const __m256i I = _mm256_min_epu32(I0, kmax);  // the index check, folded in: clamp and remember
    bad = _mm256_or_si256(bad, _mm256_xor_si256(I, I0));
    const __m256i slot = _mm256_and_si256(X, mask);
    const __m256i sidx = _mm256_or_si256(_mm256_sll_epi32(I, sh), slot);
    __m256i SD, V, bias;
    // 8-byte (step, value) entries: eight scalar loads and two shuffles beat two gathers (Zen 4)
    // when the entries are in cache. The slot table of large tables, which tends to miss the
    // cache, is read by a gather: its loads overlap.
    alignas(32) uint32_t ix[8];
    const long long* e;
    if constexpr (Compact) {
        const __m256i S = _mm256_and_si256(_mm256_i32gather_epi32((const int*)vt.slots, sidx, 2), lo16);
        const __m256i B = idx.mask ? _mm256_i32gather_epi32(vt.bases, I, 4) : _mm256_set1_epi32(vt.bases[_mm256_extract_epi32(I, 0)]);
        _mm256_store_si256((__m256i*)ix, _mm256_add_epi32(B, S));
        e = (const long long*)vt.sym_steps;
    } else {
        _mm256_store_si256((__m256i*)ix, sidx);
        e = (const long long*)vt.steps;
    }
    const __m256 l = _mm256_castsi256_ps(_mm256_set_epi64x(e[ix[3]], e[ix[2]], e[ix[1]], e[ix[0]]));
    const __m256 h = _mm256_castsi256_ps(_mm256_set_epi64x(e[ix[7]], e[ix[6]], e[ix[5]], e[ix[4]]));
    SD = _mm256_permute4x64_epi64(_mm256_castps_si256(_mm256_shuffle_ps(l, h, _MM_SHUFFLE(2, 0, 2, 0))), 0xD8);
    V = _mm256_permute4x64_epi64(_mm256_castps_si256(_mm256_shuffle_ps(l, h, _MM_SHUFFLE(3, 1, 3, 1))), 0xD8);
    if constexpr (Compact)
        bias = _mm256_sub_epi32(slot, _mm256_and_si256(SD, lo16));  // sym_steps hold start
    else
        bias = _mm256_and_si256(SD, lo16);  // slot_steps hold slot - start
    const __m256i freq =
        _mm256_add_epi32(_mm256_and_si256(_mm256_srli_epi32(SD, 16), _mm256_set1_epi32(0x7fff)), _mm256_set1_epi32(1));
    X = _mm256_add_epi32(_mm256_mullo_epi32(freq, _mm256_srl_epi32(X, sh)), bias);
    const __m256i need = _mm256_cmpeq_epi32(_mm256_srli_epi32(X, 16), _mm256_setzero_si256());
    const int m = _mm256_movemask_ps(_mm256_castsi256_ps(need));
    __m256i W = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p));
    W = _mm256_permutevar8x32_epi32(W, _mm256_load_si256((const __m256i*)lut.v[m]));
    X = _mm256_blendv_epi8(X, _mm256_or_si256(_mm256_slli_epi32(X, 16), W), need);
    p += 2 * __builtin_popcount((unsigned)m);
    if (prefetch) {  // these lanes' next lookups (one group ahead) are known now: start the misses
        alignas(32) uint32_t nx[8];
        const __m256i In = idx.mask ? _mm256_loadu_si256((const __m256i*)(idx.p + 32)) : I;
        _mm256_store_si256((__m256i*)nx, _mm256_or_si256(_mm256_sll_epi32(In, sh),
                                                         _mm256_and_si256(X, mask)));
        for (int i = 0; i < 8; ++i) {
            if constexpr (Compact)
                LCE_PREFETCH(vt.slots + nx[i]);
            else
                LCE_PREFETCH(vt.steps + 2 * (size_t)nx[i]);
        }
    }
    _mm256_storeu_si256((__m256i*)out, V);
    esc = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(SD));  // sign bit: escape symbol
    return X;
}

// Raw values of a group's escaped symbols, in symbol order (rare; kept out of the hot loop).
__attribute__((noinline)) void fix_escapes(uint32_t mask, IndexSource idx, int32_t* out, const Tables& T,
                                           EscapeReader& esc) {
    for (int i = 0; i < 32; ++i) {
        if (!((mask >> i) & 1)) continue;
        const TableInfo& ti = T.info[std::min<uint32_t>((uint32_t)idx[i], T.K - 1)];  // bad ones fail later
        out[i] = esc.next(ti.offset, ti.nsym);
    }
}

#endif

// Decoding position in one chunk: lane states, word pointer, escapes, symbols done so far.
struct ChunkCursor {
    const ChunkLayout* L = nullptr;
    IndexSource idx{nullptr, 0};  // this chunk's indexes
    int32_t* out = nullptr;       // this chunk's output
    uint32_t x[kMaxLanes];
    const uint8_t* p = nullptr;
    const uint8_t* end = nullptr;
    EscapeReader esc{BitReader{nullptr}, 0, 0};
    uint64_t done = 0;       // symbols decoded
    bool bad_index = false;  // the vector path met an index outside the tables
};

ChunkCursor open_chunk(const uint8_t* data, const StreamHeader& h, const ChunkLayout& L, IndexSource idx,
                       int32_t* out) {
    check_chunk(data, h, L);
    ChunkCursor c;
    c.L = &L;
    c.idx = idx;
    c.out = out;
    c.p = data + L.words;
    c.end = data + L.esc;
    c.esc = EscapeReader{BitReader{data + L.esc + 1}, L.n_esc, L.esc_width};
    for (uint32_t j = 0; j < L.lanes; ++j) {
        c.x[j] = load_u32(data + L.states + 4 * j);
        if (c.x[j] < kStateLow) throw StreamError("corrupt stream: bad initial state");
    }
    return c;
}

#if LCE_X86_SIMD
// Decodes whole groups of K 32-lane chunks side by side (two chunks give the CPU two independent
// dependency chains to overlap), while each has a group left and at least 32 words (so every
// 16-byte word load is in bounds). Indexes are clamped for the lookups and checked afterwards.
template <int K, bool Compact>
__attribute__((target("avx2"))) void decode_groups_avx2(ChunkCursor* const* cur, const Tables& T) {
    static const ExpandLut lut;
    const __m256i kmax = _mm256_set1_epi32((int)(T.K - 1));
    const VecTables vt{T.slot_steps().data(), T.slots().data(), T.bases.data(), T.sym_steps().data()};
    const int prec = T.precision;
    // Prefetching pays when the tables outgrow the L2 cache (many tables), not for one table.
    const bool big = Compact;
    // Everything the loop touches lives in locals (registers), not behind the cursors.
    __m256i X[K][4], bad[K];
    const uint8_t* p[K];
    const uint8_t* end[K];
    IndexSource idx[K];
    int32_t* out[K];
    uint64_t left[K];  // symbols left in whole groups
    for (int k = 0; k < K; ++k) {
        for (int v = 0; v < 4; ++v) X[k][v] = _mm256_loadu_si256((const __m256i*)(cur[k]->x + 8 * v));
        bad[k] = _mm256_setzero_si256();
        p[k] = cur[k]->p;
        end[k] = cur[k]->end;
        idx[k] = cur[k]->idx + cur[k]->done;
        out[k] = cur[k]->out + cur[k]->done;
        left[k] = (cur[k]->L->n - cur[k]->done) & ~(uint64_t)31;
    }
    uint64_t g = 0;  // symbols done in this call, per chunk
    for (;; g += 32) {
        bool more = true;
        for (int k = 0; k < K; ++k) more = more && g < left[k] && end[k] - p[k] >= 64;
        if (!more) break;
        unsigned e[K][4];
        for (int v = 0; v < 4; ++v)
            for (int k = 0; k < K; ++k) {
                const bool prefetch = big && g + 32 < left[k];  // idx + 32 stays inside the chunk
                X[k][v] = avx2_step<Compact>(X[k][v], idx[k] + (g + 8 * v), out[k] + g + 8 * v, p[k], vt, prec,
                                             kmax, bad[k], lut, prefetch, e[k][v]);
            }
        for (int k = 0; k < K; ++k)
            if (const uint32_t m = e[k][0] | e[k][1] << 8 | e[k][2] << 16 | e[k][3] << 24)
                fix_escapes(m, idx[k] + g, out[k] + g, T, cur[k]->esc);
    }
    for (int k = 0; k < K; ++k) {
        for (int v = 0; v < 4; ++v) _mm256_storeu_si256((__m256i*)(cur[k]->x + 8 * v), X[k][v]);
        cur[k]->p = p[k];
        cur[k]->done += g;
        cur[k]->bad_index = cur[k]->bad_index || !_mm256_testz_si256(bad[k], bad[k]);
    }
}
#endif

// Scalar decoding of what the vector path left (everything, without it), then the chunk's checks.
template <int WC>
void finish_chunk(ChunkCursor& c, const Tables& T, const uint16_t* slots) {
    const ChunkLayout& L = *c.L;
    if (c.bad_index) check_indexes(c.idx, L.first, c.done, T.K);
    check_indexes(c.idx + c.done, L.first + c.done, L.n - c.done, T.K);
    const int prec = T.precision;
    const uint32_t mask = (1u << prec) - 1;
    const TableInfo* info = T.info.data();
    const DecSym* dsym = T.dsym.data();
    const uint64_t W = L.lanes, n = L.n - c.done;
    const IndexSource idx = c.idx + c.done;
    int32_t* out = c.out + c.done;
    uint32_t* x = c.x;
    const uint8_t* p = c.p;
    const uint8_t* const end = c.end;
    forward_lanes<WC>(n, (int)L.lanes, p, end, [&](int j, uint64_t t, auto checked) {
        const int32_t k = idx[t];
        const TableInfo ti = info[k];
        uint32_t xj = x[j];
        const uint32_t slot = xj & mask;
        const uint32_t s = slots[((size_t)k << prec) | slot];
        const DecSym d = dsym[ti.base + s];
        xj = (d.freq_m1 + 1u) * (xj >> prec) + slot - d.start;
        xj = renorm_read(xj, p, end, checked);
        x[j] = xj;
        // This lane's next lookup is W symbols ahead and its address is known now: prefetch it
        // so the slot-table miss overlaps the other lanes' work.
        const uint64_t tn = t + W < n ? t + W : t;
        LCE_PREFETCH(slots + (((size_t)idx[tn] << prec) | (xj & mask)));
        out[t] = s == ti.nsym ? c.esc.next(ti.offset, ti.nsym) : (int32_t)((uint32_t)ti.offset + s);
    });
    if (p != end || c.esc.left != 0) throw StreamError("corrupt stream or wrong indexes: chunk not fully consumed");
    for (uint32_t j = 0; j < L.lanes; ++j)
        if (x[j] != kStateLow) throw StreamError("corrupt stream or wrong indexes: final state check failed");
}

// Decodes chunks [c0, c1) of a stream: one, or two side by side (see decode_groups_avx2).
void decode_chunks(const uint8_t* data, const StreamHeader& h, size_t c0, size_t c1, IndexSource indexes,
                   int32_t* out, const Tables& T, const uint16_t* slots, bool simd) {
    ChunkCursor cur[2];
    for (size_t c = c0; c < c1; ++c) {
        const ChunkLayout& L = h.chunks[c];
        cur[c - c0] = open_chunk(data, h, L, indexes + L.first, out + L.first);
    }
#if LCE_X86_SIMD
    if (simd) {
        ChunkCursor* wide[2] = {&cur[0], &cur[1]};
        const bool compact = !T.sym_steps().empty();
        if (c1 - c0 == 2 && cur[0].L->lanes == 32 && cur[1].L->lanes == 32)
            compact ? decode_groups_avx2<2, true>(wide, T) : decode_groups_avx2<2, false>(wide, T);
        for (size_t i = 0; i < c1 - c0; ++i)
            if (cur[i].L->lanes == 32)
                compact ? decode_groups_avx2<1, true>(wide + i, T) : decode_groups_avx2<1, false>(wide + i, T);
    }
#else
    (void)simd;
#endif
    for (size_t i = 0; i < c1 - c0; ++i) {
        if (cur[i].L->lanes == 32)
            finish_chunk<32>(cur[i], T, slots);
        else
            finish_chunk<0>(cur[i], T, slots);
    }
}

template <int WC>
void encode_intervals_chunk(const uint32_t* packed, uint64_t n, int prec, EncodedChunk& c) {
    uint16_t* const top = c.top;
    uint16_t* p = top;
    uint32_t x[kMaxLanes];
    std::fill(x, x + kMaxLanes, kStateLow);
    const Rcp* rcp = reciprocals();
    const uint32_t M = 1u << prec;
    reverse_lanes<WC>(n, (int)c.lanes, [&](int j, uint64_t t) {
        const uint32_t v = packed[t];
        const uint32_t start = v & 0xffff, freq = (v >> 16) + 1;
        const Rcp r = rcp[freq];
        uint32_t xj = x[j];
        const uint32_t emit = (xj >> (32 - prec)) >= freq;
        p[-1] = (uint16_t)xj;
        p -= emit;
        xj = emit ? xj >> 16 : xj;
        const uint32_t q = (uint32_t)(((((uint64_t)xj * r.rcp) >> 32) + xj) >> r.shift);
        x[j] = xj + start + q * (M - freq);
    });
    finish_chunk(c, p, top, x);
}

// Word areas of all chunks of one call in one uninitialised allocation: chunk c gets its symbol
// count + kSlackWords words (at most one word per symbol, plus room below the last word for the
// stores of enc_put and of the vector encoder); pages that no word reaches are never touched.
struct WordArea {
    std::unique_ptr<uint16_t[]> words;
    WordArea(std::vector<EncodedChunk>& chunks, uint64_t n, uint64_t chunk_size)
        : words(new uint16_t[n + kSlackWords * chunks.size()]) {
        for (size_t c = 0; c < chunks.size(); ++c)
            chunks[c].top = words.get() + std::min<uint64_t>((c + 1) * chunk_size, n) + kSlackWords * (c + 1);
    }
};

std::vector<ChunkParts> parts_of(const std::vector<EncodedChunk>& chunks) {
    std::vector<ChunkParts> parts(chunks.size());
    for (size_t i = 0; i < chunks.size(); ++i) {
        const EncodedChunk& c = chunks[i];
        parts[i] = ChunkParts{c.begin, c.n_words, c.lanes, c.states, c.esc.data(), (uint32_t)c.esc.size()};
    }
    return parts;
}

void check_chunk_size(uint64_t chunk_size) {
    if (chunk_size < 1 || chunk_size > kMaxChunk)
        throw InputError("chunk_size must be in [1, " + std::to_string(kMaxChunk) + "]");
}

}  // namespace

std::string assemble_stream(std::string head, Kind kind, const std::vector<ChunkParts>& chunks) {
    for (const auto& c : chunks) {
        put_varint(head, c.n_words);
        if (kind == kIndexed) put_varint(head, c.n_esc);
    }
    std::vector<int> widths(chunks.size());
    size_t total = head.size();
    for (size_t i = 0; i < chunks.size(); ++i) {
        const ChunkParts& c = chunks[i];
        uint64_t m = 0;
        for (uint32_t e = 0; e < c.n_esc; ++e) m = std::max(m, c.esc[e]);
        widths[i] = bit_length(m);
        total += 4ull * c.lanes + 2ull * c.n_words + 4 + (c.n_esc ? 1 + ((uint64_t)c.n_esc * widths[i] + 7) / 8 : 0);
    }
    head.reserve(total);
    const uint32_t prefix_crc = crc32((const uint8_t*)head.data(), head.size(), 0);
    uint8_t b[4];
    for (size_t i = 0; i < chunks.size(); ++i) {
        const ChunkParts& c = chunks[i];
        const size_t at = head.size();
        for (uint32_t j = 0; j < c.lanes; ++j) {
            store_u32(b, c.states[j]);
            head.append((const char*)b, 4);
        }
        head.append((const char*)c.words, 2ull * c.n_words);
        if (c.n_esc) {
            head.push_back((char)widths[i]);
            pack_bits(head, c.esc, c.n_esc, widths[i]);
        }
        store_u32(b, crc32((const uint8_t*)head.data() + at, head.size() - at, prefix_crc));
        head.append((const char*)b, 4);
    }
    return head;
}

Tables::Tables(const int32_t* cdfs, size_t K_, size_t stride, const int32_t* lengths, const int32_t* offsets,
               int precision_, uint32_t digest_)
    : precision(precision_), K((uint32_t)K_), digest(digest_) {
    if (precision < 1 || precision > kMaxPrecision) throw InputError("precision must be in [1, 16]");
    if (K_ < 1 || K_ > (1u << 24)) throw InputError("need between 1 and 2^24 tables");
    if (((uint64_t)K_ << precision) > (1ull << 31)) throw InputError("tables too large: K * 2^precision > 2^31");
    const uint32_t M = 1u << precision;
    info.resize(K);
    uint64_t base = 0;
    for (size_t k = 0; k < K_; ++k) {
        const int64_t len = lengths[k];
        if (len < 2 || (size_t)len > stride)
            throw InputError(fmt_table_error(k, "cdf length " + std::to_string(len) + " outside [2, " +
                                                    std::to_string(stride) + "]"));
        const int32_t* cdf = cdfs + k * stride;
        if (cdf[0] != 0) throw InputError(fmt_table_error(k, "cdf must start at 0"));
        if ((uint32_t)cdf[len - 1] != M)
            throw InputError(fmt_table_error(k, "cdf must end at 2^precision = " + std::to_string(M)));
        for (int64_t s = 0; s + 1 < len; ++s)
            if (cdf[s + 1] <= cdf[s])
                throw InputError(fmt_table_error(k, "symbol " + std::to_string(s) +
                                                        " has zero (or negative) frequency"));
        const uint32_t nsym = (uint32_t)(len - 2);
        if ((int64_t)offsets[k] + (int64_t)nsym - 1 > INT32_MAX)
            throw InputError(fmt_table_error(k, "offset + length overflows int32"));
        info[k] = TableInfo{offsets[k], nsym, (uint32_t)base, 0};
        bases.push_back((int32_t)base);
        base += nsym + 1;
        if (base > (1ull << 31)) throw InputError("tables too large");
    }
    esym.resize(base);
    dsym.resize(base);
    for (size_t k = 0; k < K_; ++k) {
        const int32_t* cdf = cdfs + k * stride;
        for (uint32_t s = 0; s <= info[k].nsym; ++s) {
            const uint32_t start = (uint32_t)cdf[s], freq = (uint32_t)(cdf[s + 1] - cdf[s]);
            esym[info[k].base + s] = make_enc_sym(start, freq, precision);
            dsym[info[k].base + s] = DecSym{(uint16_t)start, (uint16_t)(freq - 1)};
        }
    }
}

void Tables::build_slots() const {
    std::call_once(slots_once_, [this] {
        const size_t total = (size_t)K << precision;
        slots_.assign(total + 2, 0);
        const bool vec = precision <= 15 && total <= (1u << 28) && dsym.size() <= (1u << 27);
        const bool steps = vec && total <= kWideSlotsMax;
        if (steps) steps_.assign(2 * total, 0);
        if (vec && !steps) {
            sym_steps_.resize(2 * dsym.size());
            for (uint32_t k = 0; k < K; ++k)
                for (uint32_t s = 0; s <= info[k].nsym; ++s) {
                    const DecSym d = dsym[info[k].base + s];
                    sym_steps_[2 * (info[k].base + s)] =
                        d.start | (uint32_t)d.freq_m1 << 16 | (s == info[k].nsym ? 1u << 31 : 0);
                    sym_steps_[2 * (info[k].base + s) + 1] = (uint32_t)info[k].offset + s;
                }
        }
        for (uint32_t k = 0; k < K; ++k) {
            const size_t row = (size_t)k << precision;
            for (uint32_t s = 0; s <= info[k].nsym; ++s) {
                const DecSym d = dsym[info[k].base + s];
                std::fill(slots_.data() + row + d.start, slots_.data() + row + d.start + d.freq_m1 + 1, (uint16_t)s);
                if (!steps) continue;
                const uint32_t hi = (uint32_t)d.freq_m1 << 16 | (s == info[k].nsym ? 1u << 31 : 0);
                const uint32_t value = (uint32_t)info[k].offset + s;
                for (uint32_t b = 0; b <= d.freq_m1; ++b) {
                    steps_[2 * (row + d.start + b)] = hi | b;
                    steps_[2 * (row + d.start + b) + 1] = value;
                }
            }
        }
    });
}

const std::vector<uint16_t>& Tables::slots() const {
    build_slots();
    return slots_;
}

const std::vector<uint32_t>& Tables::slot_steps() const {
    build_slots();
    return steps_;
}

const std::vector<uint32_t>& Tables::enc_vec() const {
    std::call_once(enc_vec_once_, [this] {
        enc_vec_.resize(4 * esym.size());
        for (size_t i = 0; i < esym.size(); ++i) {
            const EncSym& e = esym[i];
            const bool one = e.cmpl == (1u << precision) - 1;  // freq 1
            enc_vec_[4 * i] = one ? 0xffffffffu : e.rcp;
            enc_vec_[4 * i + 1] = e.xmax;
            enc_vec_[4 * i + 2] = one ? e.bias + e.cmpl : e.bias;
            enc_vec_[4 * i + 3] = e.cmpl | (uint32_t)(one ? 0 : e.shift - 1) << 16;
        }
    });
    return enc_vec_;
}

const std::vector<uint32_t>& Tables::sym_steps() const {
    build_slots();
    return sym_steps_;
}

const Rcp* reciprocals() {
    static const std::vector<Rcp> table = [] {
        std::vector<Rcp> t(65537);
        for (uint32_t f = 1; f <= 65536; ++f) {
            const EncSym e = make_enc_sym(0, f, 16);
            t[f] = Rcp{e.rcp, e.shift};
        }
        return t;
    }();
    return table.data();
}

int resolve_threads(int threads) {
    if (threads > 0) return threads;
    const unsigned hc = std::thread::hardware_concurrency();
    return hc ? (int)hc : 1;
}

int resolve_lanes(int lanes, uint64_t n) {
    if (lanes == 0) return default_lanes(n);
    if (lanes < 1 || lanes > kMaxLanes) throw InputError("lanes must be in [1, 32]");
    return lanes;
}

std::string encode_indexed(const int32_t* symbols, IndexSource indexes, uint64_t n, const Tables& T,
                           uint64_t chunk_size, int lanes, int threads) {
    check_chunk_size(chunk_size);
    if (n > kMaxSymbols) throw InputError("too many symbols");
    lanes = resolve_lanes(lanes, n);
    std::vector<EncodedChunk> chunks(chunk_count(n, chunk_size));
    const WordArea area(chunks, n, chunk_size);
    bool simd = false;
#if LCE_X86_SIMD
    simd = cpu_has_avx2() && !std::getenv("LCODEC_NO_SIMD");
#endif
    parallel_for(chunks.size(), resolve_threads(threads), [&](size_t c) {
        const uint64_t first = c * chunk_size, m = std::min<uint64_t>(chunk_size, n - first);
        chunks[c].lanes = (uint32_t)std::min<uint64_t>(lanes, m);
        if (chunks[c].lanes == 32)
            encode_indexed_chunk<32>(symbols + first, indexes + first, first, m, T, chunks[c], simd);
        else
            encode_indexed_chunk<0>(symbols + first, indexes + first, first, m, T, chunks[c], simd);
    });
    return assemble_stream(header_prefix(kIndexed, T.precision, lanes, n, chunk_size, T.digest), kIndexed,
                           parts_of(chunks));
}

void decode_indexed(const uint8_t* data, size_t size, IndexSource indexes, uint64_t n_indexes, const Tables& T,
                    int32_t* out, int threads) {
    const StreamHeader h = parse_stream(data, size);
    if (h.kind != kIndexed) throw StreamError("not an indexed-tables stream (it holds explicit intervals)");
    if (h.n != n_indexes)
        throw InputError("the stream holds " + std::to_string(h.n) + " symbols but " + std::to_string(n_indexes) +
                         " indexes were given");
    if (h.precision != T.precision || h.digest != T.digest)
        throw StreamError("the stream was encoded with different tables (digest or precision mismatch)");
    const uint16_t* slots = h.chunks.empty() ? nullptr : T.slots().data();
    // The vector path needs AVX2 and the packed per-slot steps; LCODEC_NO_SIMD=1 turns it off
    // (tests compare both paths).
    bool simd = false;
#if LCE_X86_SIMD
    simd = cpu_has_avx2() && !(T.slot_steps().empty() && T.sym_steps().empty()) && !std::getenv("LCODEC_NO_SIMD");
#endif
    // Two chunks per task, decoded side by side (more independent work in flight: it pays most
    // when lookups miss the cache), when there are enough chunks to keep every thread busy anyway.
    const int nt = resolve_threads(threads);
    const size_t nc = h.chunks.size(), per = simd && nc >= 4 * (size_t)nt ? 2 : 1;
    parallel_for((nc + per - 1) / per, nt, [&](size_t i) {
        decode_chunks(data, h, i * per, std::min(nc, (i + 1) * per), indexes, out, T, slots, simd);
    });
}

std::string encode_intervals(const uint32_t* packed, uint64_t n, int precision, uint64_t chunk_size, int lanes,
                             int threads) {
    check_chunk_size(chunk_size);
    if (precision < 1 || precision > kMaxPrecision) throw InputError("precision must be in [1, 16]");
    if (n > kMaxSymbols) throw InputError("too many symbols");
    lanes = resolve_lanes(lanes, n);
    std::vector<EncodedChunk> chunks(chunk_count(n, chunk_size));
    const WordArea area(chunks, n, chunk_size);
    parallel_for(chunks.size(), resolve_threads(threads), [&](size_t c) {
        const uint64_t first = c * chunk_size, m = std::min<uint64_t>(chunk_size, n - first);
        chunks[c].lanes = (uint32_t)std::min<uint64_t>(lanes, m);
        if (chunks[c].lanes == 32)
            encode_intervals_chunk<32>(packed + first, m, precision, chunks[c]);
        else
            encode_intervals_chunk<0>(packed + first, m, precision, chunks[c]);
    });
    return assemble_stream(header_prefix(kIntervals, precision, lanes, n, chunk_size, 0), kIntervals,
                           parts_of(chunks));
}

IntervalDecoder::IntervalDecoder(const uint8_t* data, size_t size) : data_((const char*)data, size) {
    h_ = parse_stream((const uint8_t*)data_.data(), data_.size());
    if (h_.kind != kIntervals) throw StreamError("not an explicit-intervals stream (it holds indexed tables)");
    if (!h_.chunks.empty()) enter_chunk();
}

void IntervalDecoder::enter_chunk() {
    const ChunkLayout& L = h_.chunks[chunk_];
    const uint8_t* d = (const uint8_t*)data_.data();
    check_chunk(d, h_, L);
    for (uint32_t j = 0; j < L.lanes; ++j) {
        x_[j] = load_u32(d + L.states + 4 * j);
        if (x_[j] < kStateLow) throw StreamError("corrupt stream: bad initial state");
    }
    p_ = d + L.words;
    end_ = d + L.esc;  // intervals streams have no escape block: the CRC follows the words
}

uint32_t IntervalDecoder::state_at(uint64_t pos) const {
    const size_t c = (size_t)(pos / h_.chunk_size);
    const ChunkLayout& L = h_.chunks[c];
    const uint32_t lane = (uint32_t)((pos - L.first) % L.lanes);
    if (c == chunk_) return x_[lane];
    return load_u32((const uint8_t*)data_.data() + L.states + 4 * lane);
}

uint32_t IntervalDecoder::peek() const {
    if (pos_ >= h_.n) throw InputError("all symbols of the stream have been decoded");
    return state_at(pos_) & ((1u << h_.precision) - 1);
}

void IntervalDecoder::peek_many(uint32_t* out, size_t n) const {
    if (n > (size_t)h_.lanes) throw InputError("peek_many: n must not exceed the stream's lane count");
    if (n > h_.n - pos_) throw InputError("peek_many: fewer symbols left than requested");
    for (size_t i = 0; i < n; ++i) out[i] = state_at(pos_ + i) & ((1u << h_.precision) - 1);
}

void IntervalDecoder::advance(uint32_t start, uint32_t freq) {
    const uint32_t slot = peek();
    const uint32_t M = 1u << h_.precision;
    if (freq < 1 || start >= M || freq > M - start)
        throw InputError("interval [" + std::to_string(start) + ", " + std::to_string((uint64_t)start + freq) +
                         ") is not a non-empty part of [0, 2^precision)");
    if (slot < start || slot - start >= freq)
        throw InputError("interval [" + std::to_string(start) + ", " + std::to_string(start + freq) +
                         ") does not contain the peeked slot " + std::to_string(slot));
    const ChunkLayout& L = h_.chunks[chunk_];
    const uint32_t lane = (uint32_t)((pos_ - L.first) % L.lanes);
    x_[lane] = renorm_read(dec_advance(x_[lane], start, freq, h_.precision), p_, end_, std::true_type{});
    ++pos_;
    if (pos_ == L.first + L.n) {
        if (p_ != end_) throw StreamError("corrupt stream: chunk not fully consumed");
        for (uint32_t j = 0; j < L.lanes; ++j)
            if (x_[j] != kStateLow) throw StreamError("corrupt stream or wrong model: final state check failed");
        if (++chunk_ < h_.chunks.size()) enter_chunk();
    }
}

}  // namespace lce
