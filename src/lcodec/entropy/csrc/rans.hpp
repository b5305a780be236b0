// rANS engine shared by the CPU coder and the CUDA kernels (formats/ENTROPY.md is normative).
//
// State x lives in [L, 2^32) with L = 2^16; renormalisation moves 16-bit words, so a coding step
// reads or writes at most one word. Encoding divides by the frequency through a precomputed
// reciprocal (Granlund-Montgomery "round-up" multiplier), so the inner loop has no divide.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#error "lcodec.entropy assumes a little-endian host (the stream format is little-endian)"
#endif

#if defined(__CUDACC__)
#define LCE_HD __host__ __device__ __forceinline__
#else
#define LCE_HD inline
#endif

namespace lce {

constexpr uint32_t kStateLow = 1u << 16;  // L: lower end of the state interval
constexpr int kMaxLanes = 32;
constexpr int kMaxPrecision = 16;
constexpr uint64_t kMaxChunk = 1u << 24;  // symbols per chunk; keeps per-chunk sizes in u32
constexpr uint64_t kMaxSymbols = 1ull << 40;
constexpr int kMaxEscapeBits = 33;  // zig-zagged distance of an int32 from an int32 range

enum Kind : uint8_t { kIndexed = 1, kIntervals = 2 };

// Corrupt, truncated or mismatched stream (Python: lcodec.entropy.StreamError, a ValueError).
struct StreamError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// What the encoder needs per symbol: x' = x + bias + q * cmpl with q = floor(x / freq)
// computed as ((x * rcp >> 32) + x) >> shift, exact for every 32-bit x.
struct EncSym {
    uint32_t rcp;
    uint32_t xmax;   // renormalise first when x > xmax = freq * 2^(32 - precision) - 1 (saturated)
    uint32_t bias;   // start of the symbol's interval
    uint16_t cmpl;   // 2^precision - freq
    uint16_t shift;  // ceil(log2(freq))
};

// What the decoder needs per symbol; freq - 1 so that freq = 2^16 fits.
struct DecSym {
    uint16_t start;
    uint16_t freq_m1;
};

LCE_HD EncSym make_enc_sym(uint32_t start, uint32_t freq, int precision) {
    uint32_t shift = 0;
    while ((1u << shift) < freq) ++shift;
    EncSym e;
    e.rcp = (uint32_t)((((uint64_t)1 << 32) * ((1ull << shift) - freq)) / freq + 1);
    const uint64_t xmax = ((uint64_t)freq << (32 - precision)) - 1;
    e.xmax = xmax > 0xffffffffu ? 0xffffffffu : (uint32_t)xmax;
    e.bias = start;
    e.cmpl = (uint16_t)((1u << precision) - freq);
    e.shift = (uint16_t)shift;
    return e;
}

// One encode step. `p` points one past the next free word (words are written backwards);
// p[-1] is always writable (one slack word), so the renormalisation store is branch-free.
LCE_HD uint32_t enc_put(uint32_t x, const EncSym& e, int precision, uint16_t*& p) {
    (void)precision;
    const uint32_t emit = x > e.xmax;
    p[-1] = (uint16_t)x;
    p -= emit;
    x = emit ? x >> 16 : x;
    const uint32_t q = (uint32_t)(((((uint64_t)x * e.rcp) >> 32) + x) >> e.shift);
    return x + e.bias + q * e.cmpl;
}

// Decode-side state update for a symbol whose interval [start, start+freq) holds `slot`.
LCE_HD uint32_t dec_advance(uint32_t x, uint32_t start, uint32_t freq, int precision) {
    return freq * (x >> precision) + (x & ((1u << precision) - 1)) - start;
}

inline uint16_t load_u16(const uint8_t* p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}
inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}
inline void store_u32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }

// Zig-zag distance of a value outside [offset, offset + nsym): odd below, even above.
LCE_HD uint64_t escape_code(int64_t d, uint32_t nsym) {
    return d < 0 ? (uint64_t)(-2 * d - 1) : (uint64_t)(2 * (d - (int64_t)nsym));
}

// Inverse of escape_code; false when the value does not fit an int32.
LCE_HD bool escape_value(uint64_t u, int32_t offset, uint32_t nsym, int32_t* out) {
    if (u > (1ull << 34)) return false;
    const int64_t v = (u & 1) ? (int64_t)offset - 1 - (int64_t)(u >> 1)
                              : (int64_t)offset + (int64_t)nsym + (int64_t)(u >> 1);
    if (v < -2147483648LL || v > 2147483647LL) return false;
    *out = (int32_t)v;
    return true;
}

inline int bit_length(uint64_t u) {
    int n = 0;
    while (u) {
        ++n;
        u >>= 1;
    }
    return n;
}

// Lanes used when the caller does not choose: each lane's final state costs 4 bytes, so small
// payloads get fewer lanes (at least ~1024 symbols per lane), large ones 32 (one GPU warp).
inline int default_lanes(uint64_t n) {
    int w = 1;
    while (w < kMaxLanes && (uint64_t)(2 * w) * 1024 <= n) w *= 2;
    return w;
}

}  // namespace lce
