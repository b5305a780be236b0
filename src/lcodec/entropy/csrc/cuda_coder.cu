// CUDA kernels for the entropy coder. One warp codes one chunk, thread j being lane j, so the
// byte layout is the CPU's: the shared word sequence of a group is split between the lanes
// that renormalise by a ballot and a prefix count (formats/ENTROPY.md §2, §7).
#include "cuda_coder.hpp"

#include <cuda_runtime.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace lce::cuda {

namespace {

constexpr int kWarpsPerBlock = 4;
constexpr unsigned kFull = 0xffffffffu;

enum Err : int32_t {
    kOk = 0,
    kOutOfWords = 1,
    kNotConsumed = 2,
    kFinalState = 3,
    kBadIndex = 4,
    kBadEscape = 5,
    kBadInitialState = 6,
    kBadCrc = 7,
    kBadInterval = 8,
};

void check(cudaError_t e, const char* what) {
    if (e != cudaSuccess) throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e));
}

// Device buffer released on scope exit (stream-ordered).
template <class T>
struct DevBuf {
    T* p = nullptr;
    cudaStream_t s;
    DevBuf(size_t n, cudaStream_t st) : s(st) {
        if (n) check(cudaMallocAsync((void**)&p, n * sizeof(T), s), "cudaMallocAsync");
    }
    ~DevBuf() {
        if (p) cudaFreeAsync(p, s);
    }
    DevBuf(const DevBuf&) = delete;
    DevBuf& operator=(const DevBuf&) = delete;
};

struct DChunk {
    uint64_t first;
    uint64_t states, words, esc, end;
    uint32_t n, lanes, n_words, n_esc, esc_width;
};

struct DevTables {
    int device = -1;
    uint32_t K = 0;
    uint16_t* slots = nullptr;
    uint32_t* dsym = nullptr;  // start | (freq - 1) << 16
    TableInfo* info = nullptr;
    EncSym* esym = nullptr;
    ~DevTables() {
        cudaFree(slots);
        cudaFree(dsym);
        cudaFree(info);
        cudaFree(esym);
    }
};

template <class T>
T* upload(const T* src, size_t n) {
    T* d = nullptr;
    check(cudaMalloc((void**)&d, n * sizeof(T)), "cudaMalloc");
    check(cudaMemcpy(d, src, n * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy");
    return d;
}

// Tables on the current device, uploaded once and kept with the host tables.
const DevTables& device_tables(const Tables& T) {
    int dev = 0;
    check(cudaGetDevice(&dev), "cudaGetDevice");
    std::lock_guard<std::mutex> lock(T.device_mutex);
    auto cached = std::static_pointer_cast<DevTables>(T.device_cache);
    if (cached && cached->device == dev) return *cached;
    auto d = std::make_shared<DevTables>();
    d->device = dev;
    d->K = T.K;
    const auto& slots = T.slots();
    std::vector<uint32_t> dsym(T.dsym.size());
    for (size_t i = 0; i < dsym.size(); ++i) dsym[i] = T.dsym[i].start | (uint32_t)T.dsym[i].freq_m1 << 16;
    d->slots = upload(slots.data(), slots.size());
    d->dsym = upload(dsym.data(), dsym.size());
    d->info = upload(T.info.data(), T.info.size());
    d->esym = upload(T.esym.data(), T.esym.size());
    T.device_cache = d;
    return *d;
}

__device__ __forceinline__ uint32_t ld16(const uint8_t* p) { return p[0] | (uint32_t)p[1] << 8; }
__device__ __forceinline__ uint32_t ld32(const uint8_t* p) { return ld16(p) | ld16(p + 2) << 16; }

__device__ uint64_t read_bits(const uint8_t* p, uint64_t pos, int width) {
    uint64_t v = 0;
    for (int b = 0; b < width; ++b, ++pos) v |= (uint64_t)((p[pos >> 3] >> (pos & 7)) & 1) << b;
    return v;
}

__device__ __forceinline__ int warp_max(int v) {
    for (int o = 16; o; o >>= 1) v = max(v, __shfl_xor_sync(kFull, v, o));
    return v;
}

__constant__ uint32_t c_crc[256];

// One thread per chunk: CRC of header + directory continued over the chunk, and escape padding.
__global__ void crc_kernel(const uint8_t* data, const DChunk* chunks, uint32_t nchunks, uint32_t prefix_crc,
                           int32_t* err) {
    __shared__ uint32_t tab[256];  // threads look up different entries: shared, not constant, memory
    for (uint32_t i = threadIdx.x; i < 256; i += blockDim.x) tab[i] = c_crc[i];
    __syncthreads();
    const uint32_t c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= nchunks) return;
    const DChunk C = chunks[c];
    uint32_t crc = ~prefix_crc;
    for (uint64_t i = C.states; i < C.end - 4; ++i) crc = tab[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
    int e = (~crc != ld32(data + C.end - 4)) ? kBadCrc : kOk;
    if (C.n_esc) {
        const uint64_t bits = (uint64_t)C.n_esc * C.esc_width;
        if ((bits % 8) && (data[C.end - 5] >> (bits % 8))) e = kBadCrc;
    }
    err[c] = e;
}

__global__ void decode_indexed_kernel(const uint8_t* data, const DChunk* chunks, uint32_t nchunks,
                                      const int32_t* idx, int32_t* out, const uint16_t* slots,
                                      const uint32_t* dsym, const TableInfo* info, uint32_t K, int prec,
                                      int32_t* err, unsigned long long* bad_pos) {
    const uint32_t warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const uint32_t lane = threadIdx.x & 31;
    if (warp >= nchunks) return;  // whole warps leave together
    if (err[warp]) return;        // CRC already failed
    const DChunk C = chunks[warp];
    const uint32_t W = C.lanes, mask = (1u << prec) - 1, below = (1u << lane) - 1;
    int e = kOk;
    uint32_t x = kStateLow;
    if (lane < W) {
        x = ld32(data + C.states + 4 * lane);
        if (x < kStateLow) e = kBadInitialState;
    }
    const uint8_t* words = data + C.words;
    const uint8_t* escb = data + C.esc + 1;
    uint32_t pos = 0, epos = 0;
    for (uint32_t base = 0; base < C.n; base += W) {
        const uint32_t t = base + lane;
        const bool active = lane < W && t < C.n;
        uint32_t s = 0;
        TableInfo ti{0, 1, 0, 0};
        bool need = false;
        if (active) {
            int32_t k = idx[C.first + t];
            if ((uint32_t)k >= K) {
                atomicMin(bad_pos, (unsigned long long)(C.first + t));
                e = kBadIndex;
                k = 0;
            }
            ti = info[k];
            const uint32_t slot = x & mask;
            s = slots[((size_t)k << prec) | slot];
            const uint32_t d = dsym[ti.base + s];
            x = ((d >> 16) + 1) * (x >> prec) + slot - (d & 0xffff);
            need = x < kStateLow;
        }
        const unsigned b = __ballot_sync(kFull, need);
        if (need) {
            const uint32_t wi = pos + __popc(b & below);
            if (wi < C.n_words)
                x = (x << 16) | ld16(words + 2ull * wi);
            else
                e = kOutOfWords;
        }
        pos += __popc(b);
        const bool is_esc = active && s == ti.nsym;
        const unsigned eb = __ballot_sync(kFull, is_esc);
        int32_t v = (int32_t)((uint32_t)ti.offset + s);
        if (is_esc) {
            const uint32_t o = epos + __popc(eb & below);
            if (o >= C.n_esc || !escape_value(read_bits(escb, (uint64_t)o * C.esc_width, C.esc_width), ti.offset,
                                              ti.nsym, &v))
                e = kBadEscape;
        }
        epos += __popc(eb);
        if (active) out[C.first + t] = v;
        if (__any_sync(kFull, e)) break;
    }
    if (!e && lane < W && x != kStateLow) e = kFinalState;
    if (!e && (pos != C.n_words || epos != C.n_esc)) e = kNotConsumed;
    e = warp_max(e);
    if (lane == 0) err[warp] = e;
}

__global__ void step_init_kernel(const uint8_t* data, const DChunk* chunks, uint32_t nchunks, uint32_t* xs,
                                 uint32_t* pos, int32_t* err) {
    const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= 32 * nchunks) return;
    const uint32_t c = i >> 5, lane = i & 31;
    const DChunk C = chunks[c];
    uint32_t x = kStateLow;
    if (lane < C.lanes) {
        x = ld32(data + C.states + 4 * lane);
        if (x < kStateLow) atomicMax(err + c, (int)kBadInitialState);
    }
    xs[i] = x;
    if (lane == 0) pos[c] = 0;
}

__global__ void step_peek_kernel(const DChunk* chunks, uint32_t nchunks, const uint32_t* xs, uint64_t round, int prec,
                                 int32_t* slots, int64_t* positions) {
    const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= 32 * nchunks) return;
    const DChunk C = chunks[i >> 5];
    const uint32_t lane = i & 31;
    const uint64_t t = round * C.lanes + lane;
    const bool active = lane < C.lanes && t < C.n;
    slots[i] = active ? (int32_t)(xs[i] & ((1u << prec) - 1)) : -1;
    if (positions) positions[i] = active ? (int64_t)(C.first + t) : -1;
}

__global__ void step_advance_kernel(const uint8_t* data, const DChunk* chunks, uint32_t nchunks, uint32_t* xs,
                                    uint32_t* pos, int32_t* err, uint64_t round, int prec, const int32_t* starts,
                                    const int32_t* freqs, bool last) {
    const uint32_t warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const uint32_t lane = threadIdx.x & 31;
    if (warp >= nchunks) return;
    const DChunk C = chunks[warp];
    const uint32_t i = 32 * warp + lane;
    const uint64_t t = round * C.lanes + lane;
    const bool active = lane < C.lanes && t < C.n;
    uint32_t x = xs[i], p = pos[warp];
    int e = kOk;
    bool need = false;
    if (active) {
        const int64_t a = starts[i], f = freqs[i], slot = x & ((1u << prec) - 1);
        if (f < 1 || a < 0 || a + f > (1 << prec) || slot < a || slot >= a + f) {
            e = kBadInterval;
        } else {
            x = (uint32_t)f * (x >> prec) + (uint32_t)(slot - a);
            need = x < kStateLow;
        }
    }
    const unsigned b = __ballot_sync(kFull, need);
    if (need) {
        const uint32_t wi = p + __popc(b & ((1u << lane) - 1));
        if (wi < C.n_words)
            x = (x << 16) | ld16(data + C.words + 2ull * wi);
        else
            e = kOutOfWords;
    }
    p += __popc(b);
    if (last && !e && lane < C.lanes && x != kStateLow) e = kFinalState;
    if (last && !e && p != C.n_words) e = kNotConsumed;
    e = warp_max(e);
    xs[i] = x;
    if (lane == 0) {
        pos[warp] = p;
        if (e && !err[warp]) err[warp] = e;
    }
}

struct EncChunk {
    uint64_t first;     // first symbol
    uint64_t scratch;   // first word of this chunk's scratch area (n + 1 words)
    uint64_t esc_base;  // first slot of this chunk's escaped values
    uint32_t n, lanes;
};

// Pass 1 of indexed encoding: escapes per chunk (their slots are assigned in symbol order).
__global__ void count_escapes_kernel(const int32_t* sym, const int32_t* idx, const EncChunk* chunks,
                                     uint32_t nchunks, const TableInfo* info, uint32_t K, uint32_t* n_esc,
                                     int32_t* err, unsigned long long* bad_pos) {
    const uint32_t warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const uint32_t lane = threadIdx.x & 31;
    if (warp >= nchunks) return;
    const EncChunk C = chunks[warp];
    uint32_t count = 0;
    int e = kOk;
    for (uint32_t t = lane; t < C.n; t += 32) {
        const int32_t k = idx[C.first + t];
        if ((uint32_t)k >= K) {
            atomicMin(bad_pos, (unsigned long long)(C.first + t));
            e = kBadIndex;
            continue;
        }
        const int64_t d = (int64_t)sym[C.first + t] - info[k].offset;
        count += (uint64_t)d >= info[k].nsym;
    }
    for (int o = 16; o; o >>= 1) count += __shfl_xor_sync(kFull, count, o);
    e = warp_max(e);
    if (lane == 0) {
        n_esc[warp] = count;
        err[warp] = e;
    }
}

// Backward pass shared by both front ends: `interval(t, active, e)` gives symbol t's coding data
// (called by every lane of the warp, so it may vote). Lane j of a group writes its word at
// ptr - popc(emitters >= j), as the CPU coder pushes lanes W-1 .. 0.
template <class Interval>
__device__ void encode_chunk(const EncChunk& C, int prec, uint16_t* scratch, uint32_t* states, uint32_t* n_words,
                             int& e, Interval interval) {
    const uint32_t lane = threadIdx.x & 31, W = C.lanes;
    const unsigned ge = ~((1u << lane) - 1);
    uint32_t x = kStateLow;
    uint64_t ptr = C.n + 1;  // one past the next free word, within the chunk's scratch
    uint16_t* buf = scratch + C.scratch;
    const uint32_t groups = (C.n + W - 1) / W;
    for (uint32_t g = groups; g-- > 0;) {
        const uint32_t t = g * W + lane;
        const bool active = lane < W && t < C.n;
        const EncSym es = interval(t, active, e);
        const bool emit = active && x > es.xmax;
        const unsigned b = __ballot_sync(kFull, emit);
        if (emit) {
            buf[ptr - __popc(b & ge)] = (uint16_t)x;  // ptr - k is the k-th free word from the top
            x >>= 16;
        }
        ptr -= __popc(b);
        if (active) {
            const uint32_t q = (uint32_t)(((((uint64_t)x * es.rcp) >> 32) + x) >> es.shift);
            x = x + es.bias + q * es.cmpl;
        }
    }
    if (lane < W) states[lane] = x;
    if (lane == 0) *n_words = (uint32_t)(C.n + 1 - ptr);
}

__global__ void encode_indexed_kernel(const int32_t* sym, const int32_t* idx, const EncChunk* chunks,
                                      uint32_t nchunks, const TableInfo* info, const EncSym* esym, int prec,
                                      const uint32_t* n_esc, uint16_t* scratch, uint32_t* states, uint32_t* n_words,
                                      unsigned long long* esc) {
    const uint32_t warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    if (warp >= nchunks) return;
    const EncChunk C = chunks[warp];
    const uint32_t lane = threadIdx.x & 31;
    const unsigned above = lane == 31 ? 0u : ~((2u << lane) - 1);  // lanes > this one
    uint32_t after = 0;  // escapes at later positions, already placed
    int e = kOk;
    encode_chunk(C, prec, scratch, states + 32ull * warp, n_words + warp, e, [&](uint32_t t, bool active, int&) {
        EncSym es{0, 0xffffffffu, 0, 0, 0};  // inactive lanes: never emits
        int64_t d = 0;
        TableInfo ti{0, 1, 0, 0};
        if (active) {
            ti = info[idx[C.first + t]];  // indexes were checked by count_escapes_kernel
            d = (int64_t)sym[C.first + t] - ti.offset;
        }
        const bool is_esc = active && (uint64_t)d >= ti.nsym;
        const unsigned eb = __ballot_sync(kFull, is_esc);
        // escapes at later positions: later groups (`after`), then higher lanes of this group
        if (is_esc)
            esc[C.esc_base + n_esc[warp] - 1 - (after + __popc(eb & above))] = escape_code(d, ti.nsym);
        after += __popc(eb);
        if (active) es = esym[ti.base + (is_esc ? ti.nsym : (uint32_t)d)];
        return es;
    });
}

__global__ void encode_intervals_kernel(const int32_t* starts, const int32_t* freqs, const EncChunk* chunks,
                                        uint32_t nchunks, int prec, uint16_t* scratch, uint32_t* states,
                                        uint32_t* n_words, int32_t* err) {
    const uint32_t warp = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    if (warp >= nchunks) return;
    const EncChunk C = chunks[warp];
    int e = kOk;
    const int64_t M = 1 << prec;
    encode_chunk(C, prec, scratch, states + 32ull * warp, n_words + warp, e, [&](uint32_t t, bool active, int& err_) {
        if (!active) return make_enc_sym(0, 1u << prec, prec);
        const int64_t a = starts[C.first + t], f = freqs[C.first + t];
        if (f < 1 || a < 0 || a + f > M) {
            err_ = kBadInterval;
            return make_enc_sym(0, 1u << prec, prec);
        }
        return make_enc_sym((uint32_t)a, (uint32_t)f, prec);
    });
    e = warp_max(e);
    if ((threadIdx.x & 31) == 0) err[warp] = e;
}

// The CRC table lives in constant memory of the current device (1 KB; set before each decode).
void init_crc_table() {
    uint32_t t[256];
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[i] = c;
    }
    check(cudaMemcpyToSymbol(c_crc, t, sizeof(t)), "cudaMemcpyToSymbol");
}

// Throws for the first failed chunk, as the CPU coder reports the lowest chunk.
void raise_errors(const std::vector<int32_t>& err, unsigned long long bad_pos) {
    for (int32_t e : err) {
        switch (e) {
            case kOk: continue;
            case kBadIndex:
                throw InputError("indexes[" + std::to_string(bad_pos) + "] is outside the tables' range");
            case kBadInterval:
                throw InputError("an interval is not a non-empty part of [0, 2^precision) or misses its slot");
            case kBadCrc: throw StreamError("corrupt stream: chunk CRC mismatch");
            case kOutOfWords: throw StreamError("corrupt or truncated stream: ran out of words");
            case kBadEscape: throw StreamError("corrupt stream: bad escaped value");
            case kBadInitialState: throw StreamError("corrupt stream: bad initial state");
            default: throw StreamError("corrupt stream or wrong indexes: final state check failed");
        }
    }
}

unsigned grid_for(size_t nchunks) { return (unsigned)((nchunks + kWarpsPerBlock - 1) / kWarpsPerBlock); }

struct EncodePlan {
    std::vector<EncChunk> chunks;
    uint64_t scratch_words = 0;
};

EncodePlan plan(uint64_t n, uint64_t chunk_size, int lanes) {
    EncodePlan P;
    P.chunks.resize(chunk_count(n, chunk_size));
    for (size_t c = 0; c < P.chunks.size(); ++c) {
        EncChunk& C = P.chunks[c];
        C.first = c * chunk_size;
        C.n = (uint32_t)std::min<uint64_t>(chunk_size, n - C.first);
        C.lanes = std::min<uint32_t>((uint32_t)lanes, C.n);
        C.scratch = P.scratch_words;
        C.esc_base = 0;
        P.scratch_words += C.n + 1;
    }
    return P;
}

// Copies the coded chunks back and lays out the stream like the CPU coder.
std::string finish(Kind kind, int prec, int lanes, uint64_t n, uint64_t chunk_size, uint32_t digest,
                   const EncodePlan& P, const uint16_t* d_scratch, const uint32_t* d_states, const uint32_t* d_nw,
                   const unsigned long long* d_esc, uint64_t total_esc, const std::vector<uint32_t>& n_esc,
                   cudaStream_t s) {
    const size_t nc = P.chunks.size();
    std::vector<uint16_t> scratch(P.scratch_words);
    std::vector<uint32_t> states(32 * nc), nw(nc);
    std::vector<uint64_t> esc(total_esc);
    check(cudaMemcpyAsync(scratch.data(), d_scratch, scratch.size() * 2, cudaMemcpyDeviceToHost, s), "copy words");
    check(cudaMemcpyAsync(states.data(), d_states, states.size() * 4, cudaMemcpyDeviceToHost, s), "copy states");
    check(cudaMemcpyAsync(nw.data(), d_nw, nw.size() * 4, cudaMemcpyDeviceToHost, s), "copy counts");
    if (total_esc)
        check(cudaMemcpyAsync(esc.data(), d_esc, esc.size() * 8, cudaMemcpyDeviceToHost, s), "copy escapes");
    check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    std::vector<ChunkParts> parts(nc);
    for (size_t c = 0; c < nc; ++c) {
        const EncChunk& C = P.chunks[c];
        const uint16_t* top = scratch.data() + C.scratch + C.n + 1;
        parts[c] = ChunkParts{top - nw[c], nw[c], C.lanes, states.data() + 32 * c,
                              esc.data() + C.esc_base, kind == kIndexed ? n_esc[c] : 0};
    }
    return assemble_stream(header_prefix(kind, prec, lanes, n, chunk_size, digest), kind, parts);
}

}  // namespace

void decode_indexed(const uint8_t* data, size_t size, const int32_t* d_idx, uint64_t n_idx, const Tables& T,
                    int32_t* d_out, uintptr_t stream) {
    const StreamHeader h = parse_stream(data, size);
    if (h.kind != kIndexed) throw StreamError("not an indexed-tables stream (it holds explicit intervals)");
    if (h.n != n_idx)
        throw InputError("the stream holds " + std::to_string(h.n) + " symbols but " + std::to_string(n_idx) +
                         " indexes were given");
    if (h.precision != T.precision || h.digest != T.digest)
        throw StreamError("the stream was encoded with different tables (digest or precision mismatch)");
    const size_t nc = h.chunks.size();
    if (!nc) return;
    cudaStream_t s = (cudaStream_t)stream;
    const DevTables& DT = device_tables(T);
    init_crc_table();
    std::vector<DChunk> dc(nc);
    for (size_t c = 0; c < nc; ++c) {
        const ChunkLayout& L = h.chunks[c];
        dc[c] = DChunk{L.first, L.states, L.words, L.esc, L.end, L.n, L.lanes, L.n_words, L.n_esc, L.esc_width};
    }
    DevBuf<uint8_t> d_data(size, s);
    DevBuf<DChunk> d_chunks(nc, s);
    DevBuf<int32_t> d_err(nc, s);
    DevBuf<unsigned long long> d_bad(1, s);
    const unsigned long long none = ~0ull;
    check(cudaMemcpyAsync(d_data.p, data, size, cudaMemcpyHostToDevice, s), "copy stream");
    check(cudaMemcpyAsync(d_chunks.p, dc.data(), nc * sizeof(DChunk), cudaMemcpyHostToDevice, s), "copy chunks");
    check(cudaMemcpyAsync(d_bad.p, &none, 8, cudaMemcpyHostToDevice, s), "copy");
    crc_kernel<<<(unsigned)((nc + 127) / 128), 128, 0, s>>>(d_data.p, d_chunks.p, (uint32_t)nc, h.prefix_crc,
                                                           d_err.p);
    decode_indexed_kernel<<<grid_for(nc), 32 * kWarpsPerBlock, 0, s>>>(
        d_data.p, d_chunks.p, (uint32_t)nc, d_idx, d_out, DT.slots, DT.dsym, DT.info, DT.K, T.precision, d_err.p,
        d_bad.p);
    check(cudaGetLastError(), "decode kernel launch");
    std::vector<int32_t> err(nc);
    unsigned long long bad = 0;
    check(cudaMemcpyAsync(err.data(), d_err.p, nc * 4, cudaMemcpyDeviceToHost, s), "copy errors");
    check(cudaMemcpyAsync(&bad, d_bad.p, 8, cudaMemcpyDeviceToHost, s), "copy errors");
    check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    raise_errors(err, bad);
}

std::string encode_indexed(const int32_t* d_sym, const int32_t* d_idx, uint64_t n, const Tables& T,
                           uint64_t chunk_size, int lanes, uintptr_t stream) {
    if (chunk_size < 1 || chunk_size > kMaxChunk) throw InputError("chunk_size must be in [1, 2^24]");
    lanes = resolve_lanes(lanes, n);
    cudaStream_t s = (cudaStream_t)stream;
    EncodePlan P = plan(n, chunk_size, lanes);
    const size_t nc = P.chunks.size();
    if (!nc) return assemble_stream(header_prefix(kIndexed, T.precision, lanes, n, chunk_size, T.digest), kIndexed, {});
    const DevTables& DT = device_tables(T);
    DevBuf<EncChunk> d_chunks(nc, s);
    DevBuf<uint32_t> d_nesc(nc, s), d_nw(nc, s), d_states(32 * nc, s);
    DevBuf<int32_t> d_err(nc, s);
    DevBuf<unsigned long long> d_bad(1, s);
    const unsigned long long none = ~0ull;
    check(cudaMemcpyAsync(d_chunks.p, P.chunks.data(), nc * sizeof(EncChunk), cudaMemcpyHostToDevice, s), "copy");
    check(cudaMemcpyAsync(d_bad.p, &none, 8, cudaMemcpyHostToDevice, s), "copy");
    count_escapes_kernel<<<grid_for(nc), 32 * kWarpsPerBlock, 0, s>>>(d_sym, d_idx, d_chunks.p, (uint32_t)nc,
                                                                       DT.info, DT.K, d_nesc.p, d_err.p, d_bad.p);
    check(cudaGetLastError(), "escape kernel launch");
    std::vector<uint32_t> n_esc(nc);
    std::vector<int32_t> err(nc);
    unsigned long long bad = 0;
    check(cudaMemcpyAsync(n_esc.data(), d_nesc.p, nc * 4, cudaMemcpyDeviceToHost, s), "copy");
    check(cudaMemcpyAsync(err.data(), d_err.p, nc * 4, cudaMemcpyDeviceToHost, s), "copy");
    check(cudaMemcpyAsync(&bad, d_bad.p, 8, cudaMemcpyDeviceToHost, s), "copy");
    check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    raise_errors(err, bad);
    uint64_t total_esc = 0;
    for (size_t c = 0; c < nc; ++c) {
        P.chunks[c].esc_base = total_esc;
        total_esc += n_esc[c];
    }
    check(cudaMemcpyAsync(d_chunks.p, P.chunks.data(), nc * sizeof(EncChunk), cudaMemcpyHostToDevice, s), "copy");
    DevBuf<uint16_t> d_scratch(P.scratch_words, s);
    DevBuf<unsigned long long> d_esc(total_esc, s);
    encode_indexed_kernel<<<grid_for(nc), 32 * kWarpsPerBlock, 0, s>>>(d_sym, d_idx, d_chunks.p, (uint32_t)nc,
                                                                        DT.info, DT.esym, T.precision, d_nesc.p,
                                                                        d_scratch.p, d_states.p, d_nw.p, d_esc.p);
    check(cudaGetLastError(), "encode kernel launch");
    return finish(kIndexed, T.precision, lanes, n, chunk_size, T.digest, P, d_scratch.p, d_states.p, d_nw.p,
                  d_esc.p, total_esc, n_esc, s);
}

std::string encode_intervals(const int32_t* d_starts, const int32_t* d_freqs, uint64_t n, int precision,
                             uint64_t chunk_size, int lanes, uintptr_t stream) {
    if (chunk_size < 1 || chunk_size > kMaxChunk) throw InputError("chunk_size must be in [1, 2^24]");
    if (precision < 1 || precision > kMaxPrecision) throw InputError("precision must be in [1, 16]");
    lanes = resolve_lanes(lanes, n);
    cudaStream_t s = (cudaStream_t)stream;
    EncodePlan P = plan(n, chunk_size, lanes);
    const size_t nc = P.chunks.size();
    if (!nc) return assemble_stream(header_prefix(kIntervals, precision, lanes, n, chunk_size, 0), kIntervals, {});
    DevBuf<EncChunk> d_chunks(nc, s);
    DevBuf<uint32_t> d_nw(nc, s), d_states(32 * nc, s);
    DevBuf<int32_t> d_err(nc, s);
    DevBuf<uint16_t> d_scratch(P.scratch_words, s);
    check(cudaMemcpyAsync(d_chunks.p, P.chunks.data(), nc * sizeof(EncChunk), cudaMemcpyHostToDevice, s), "copy");
    encode_intervals_kernel<<<grid_for(nc), 32 * kWarpsPerBlock, 0, s>>>(d_starts, d_freqs, d_chunks.p, (uint32_t)nc,
                                                                          precision, d_scratch.p, d_states.p, d_nw.p,
                                                                          d_err.p);
    check(cudaGetLastError(), "encode kernel launch");
    std::vector<int32_t> err(nc);
    check(cudaMemcpyAsync(err.data(), d_err.p, nc * 4, cudaMemcpyDeviceToHost, s), "copy");
    check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    raise_errors(err, 0);
    return finish(kIntervals, precision, lanes, n, chunk_size, 0, P, d_scratch.p, d_states.p, d_nw.p, nullptr, 0,
                  {}, s);
}

IntervalStepDecoder::IntervalStepDecoder(const uint8_t* data, size_t size, uintptr_t stream) : stream_(stream) {
    h_ = parse_stream(data, size);
    if (h_.kind != kIntervals) throw StreamError("not an explicit-intervals stream (it holds indexed tables)");
    const size_t nc = h_.chunks.size();
    for (const ChunkLayout& L : h_.chunks) rounds_ = std::max<uint64_t>(rounds_, (L.n + L.lanes - 1) / L.lanes);
    if (!nc) return;
    cudaStream_t s = (cudaStream_t)stream;
    std::vector<DChunk> dc(nc);
    for (size_t c = 0; c < nc; ++c) {
        const ChunkLayout& L = h_.chunks[c];
        dc[c] = DChunk{L.first, L.states, L.words, L.esc, L.end, L.n, L.lanes, L.n_words, 0, 0};
    }
    check(cudaMalloc(&data_, size), "cudaMalloc");
    check(cudaMalloc(&chunks_, nc * sizeof(DChunk)), "cudaMalloc");
    check(cudaMalloc(&x_, nc * 32 * 4), "cudaMalloc");
    check(cudaMalloc(&pos_, nc * 4), "cudaMalloc");
    check(cudaMalloc(&err_, nc * 4), "cudaMalloc");
    check(cudaMemcpyAsync(data_, data, size, cudaMemcpyHostToDevice, s), "copy stream");
    check(cudaMemcpyAsync(chunks_, dc.data(), nc * sizeof(DChunk), cudaMemcpyHostToDevice, s), "copy chunks");
    init_crc_table();
    crc_kernel<<<(unsigned)((nc + 127) / 128), 128, 0, s>>>((const uint8_t*)data_, (const DChunk*)chunks_,
                                                           (uint32_t)nc, h_.prefix_crc, (int32_t*)err_);
    step_init_kernel<<<(unsigned)((32 * nc + 127) / 128), 128, 0, s>>>(
        (const uint8_t*)data_, (const DChunk*)chunks_, (uint32_t)nc, (uint32_t*)x_, (uint32_t*)pos_, (int32_t*)err_);
    check(cudaGetLastError(), "init kernel launch");
    verify();  // CRC and initial states, before the caller spends model evaluations
}

IntervalStepDecoder::~IntervalStepDecoder() {
    cudaFree(data_);
    cudaFree(chunks_);
    cudaFree(x_);
    cudaFree(pos_);
    cudaFree(err_);
}

void IntervalStepDecoder::peek(int32_t* d_slots, int64_t* d_pos) const {
    if (round_ >= rounds_) throw InputError("all symbols of the stream have been decoded");
    const size_t nc = h_.chunks.size();
    step_peek_kernel<<<(unsigned)((32 * nc + 127) / 128), 128, 0, (cudaStream_t)stream_>>>(
        (const DChunk*)chunks_, (uint32_t)nc, (const uint32_t*)x_, round_, h_.precision, d_slots, d_pos);
    check(cudaGetLastError(), "peek kernel launch");
}

void IntervalStepDecoder::advance(const int32_t* d_starts, const int32_t* d_freqs) {
    if (round_ >= rounds_) throw InputError("all symbols of the stream have been decoded");
    const size_t nc = h_.chunks.size();
    const bool last = round_ + 1 == rounds_;
    // chunks shorter than the longest one finish earlier: their final check runs in the last round
    // too, as their lanes are idle from then on and keep their (final) states
    step_advance_kernel<<<grid_for(nc), 32 * kWarpsPerBlock, 0, (cudaStream_t)stream_>>>(
        (const uint8_t*)data_, (const DChunk*)chunks_, (uint32_t)nc, (uint32_t*)x_, (uint32_t*)pos_, (int32_t*)err_,
        round_, h_.precision, d_starts, d_freqs, last);
    check(cudaGetLastError(), "advance kernel launch");
    ++round_;
    if (last) verify();
}

void IntervalStepDecoder::verify() const {
    const size_t nc = h_.chunks.size();
    std::vector<int32_t> err(nc);
    cudaStream_t s = (cudaStream_t)stream_;
    if (nc) check(cudaMemcpyAsync(err.data(), err_, nc * 4, cudaMemcpyDeviceToHost, s), "copy errors");
    check(cudaStreamSynchronize(s), "cudaStreamSynchronize");
    raise_errors(err, 0);
}

}  // namespace lce::cuda
