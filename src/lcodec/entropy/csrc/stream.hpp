// Byte layout of an entropy stream (formats/ENTROPY.md): header, chunk directory, chunk payloads.
// Parsing validates every size against the buffer before anything is decoded, so a garbage
// stream fails here or at a chunk's final-state check, never by reading out of bounds.
#pragma once

#include <algorithm>
#include <cstdint>
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif
#include <string>
#include <vector>

#include "rans.hpp"

namespace lce {

constexpr uint8_t kMagic[3] = {'L', 'C', 'E'};
constexpr uint8_t kVersion = 1;

inline void put_varint(std::string& s, uint64_t v) {
    while (v >= 0x80) {
        s.push_back((char)(uint8_t)(v | 0x80));
        v >>= 7;
    }
    s.push_back((char)(uint8_t)v);
}

struct Reader {
    const uint8_t* p;
    const uint8_t* end;

    uint64_t varint(const char* what) {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p == end) throw StreamError(std::string("truncated stream (in ") + what + ")");
            const uint8_t b = *p++;
            v |= (uint64_t)(b & 0x7f) << shift;
            if (!(b & 0x80)) {
                if (b == 0 && shift > 0) throw StreamError(std::string("non-canonical varint in ") + what);
                return v;
            }
        }
        throw StreamError(std::string("varint too long in ") + what);
    }
    uint8_t u8(const char* what) {
        if (p == end) throw StreamError(std::string("truncated stream (in ") + what + ")");
        return *p++;
    }
    uint32_t u32(const char* what) {
        if (end - p < 4) throw StreamError(std::string("truncated stream (in ") + what + ")");
        const uint32_t v = load_u32(p);
        p += 4;
        return v;
    }
};

inline uint32_t crc32(const uint8_t* p, size_t n, uint32_t crc);

struct ChunkLayout {
    uint64_t first;      // index of the chunk's first symbol
    uint32_t n;          // symbols in the chunk
    uint32_t lanes;      // active lanes: min(stream lanes, n)
    uint32_t n_words;    // 16-bit renormalisation words
    uint32_t n_esc;      // escaped values (indexed streams)
    uint8_t esc_width;   // bits per escaped value
    uint64_t states;     // byte offsets into the stream
    uint64_t words;
    uint64_t esc;
    uint64_t end;
};

struct StreamHeader {
    Kind kind;
    int precision;
    int lanes;
    uint64_t n;
    uint64_t chunk_size;
    uint32_t digest;      // tables digest (indexed streams)
    uint32_t prefix_crc;  // CRC-32 of header + directory
    std::vector<ChunkLayout> chunks;
};

inline std::string header_prefix(Kind kind, int precision, int lanes, uint64_t n, uint64_t chunk_size,
                                 uint32_t digest) {
    std::string s;
    s.append((const char*)kMagic, 3);
    s.push_back((char)kVersion);
    s.push_back((char)kind);
    s.push_back((char)precision);
    s.push_back((char)lanes);
    s.push_back(0);  // flags
    put_varint(s, n);
    put_varint(s, chunk_size);
    if (kind == kIndexed) {
        uint8_t d[4];
        store_u32(d, digest);
        s.append((const char*)d, 4);
    }
    return s;
}

inline uint64_t chunk_count(uint64_t n, uint64_t chunk_size) { return n == 0 ? 0 : (n - 1) / chunk_size + 1; }

inline StreamHeader parse_stream(const uint8_t* data, size_t size) {
    Reader r{data, data + size};
    if (size < 8 || data[0] != kMagic[0] || data[1] != kMagic[1] || data[2] != kMagic[2])
        throw StreamError("not an lcodec entropy stream (bad magic)");
    r.p += 3;
    if (r.u8("version") != kVersion) throw StreamError("unsupported entropy stream version");
    StreamHeader h;
    const uint8_t kind = r.u8("kind");
    if (kind != kIndexed && kind != kIntervals) throw StreamError("unknown entropy stream kind");
    h.kind = (Kind)kind;
    h.precision = r.u8("precision");
    if (h.precision < 1 || h.precision > kMaxPrecision) throw StreamError("bad precision in stream header");
    h.lanes = r.u8("lanes");
    if (h.lanes < 1 || h.lanes > kMaxLanes) throw StreamError("bad lane count in stream header");
    if (r.u8("flags") != 0) throw StreamError("unknown flags in stream header");
    h.n = r.varint("symbol count");
    h.chunk_size = r.varint("chunk size");
    if (h.n > kMaxSymbols) throw StreamError("symbol count too large");
    if (h.chunk_size < 1 || h.chunk_size > kMaxChunk) throw StreamError("bad chunk size in stream header");
    h.digest = h.kind == kIndexed ? r.u32("tables digest") : 0;
    const uint64_t nc = chunk_count(h.n, h.chunk_size);
    if (nc > (uint64_t)(r.end - r.p)) throw StreamError("truncated stream (chunk directory)");
    h.chunks.resize(nc);
    for (uint64_t c = 0; c < nc; ++c) {
        ChunkLayout& L = h.chunks[c];
        L.first = c * h.chunk_size;
        L.n = (uint32_t)std::min<uint64_t>(h.chunk_size, h.n - L.first);
        L.lanes = std::min<uint32_t>((uint32_t)h.lanes, L.n);
        const uint64_t nw = r.varint("chunk directory");
        const uint64_t ne = h.kind == kIndexed ? r.varint("chunk directory") : 0;
        // A coding step reads at most one word; a symbol escapes at most once.
        if (nw > L.n || ne > L.n) throw StreamError("inconsistent chunk directory");
        L.n_words = (uint32_t)nw;
        L.n_esc = (uint32_t)ne;
    }
    uint64_t off = (uint64_t)(r.p - data);
    h.prefix_crc = crc32(data, off, 0);
    for (ChunkLayout& L : h.chunks) {
        L.states = off;
        L.words = L.states + 4ull * L.lanes;
        L.esc = L.words + 2ull * L.n_words;
        L.esc_width = 0;
        L.end = L.esc;
        if (L.n_esc) {
            if (L.esc >= size) throw StreamError("truncated stream (escape block)");
            L.esc_width = data[L.esc];
            if (L.esc_width > kMaxEscapeBits) throw StreamError("bad escape width");
            L.end = L.esc + 1 + ((uint64_t)L.n_esc * L.esc_width + 7) / 8;
        }
        L.end += 4;  // CRC-32
        if (L.end > size) throw StreamError("truncated stream (chunk payload)");
        off = L.end;
    }
    if (off != size) throw StreamError("trailing bytes after the last chunk");
    return h;
}

// CRC-32 (IEEE 802.3, as zlib.crc32), slicing by 8. Every chunk ends with the CRC of the stream
// prefix (header + directory) continued over the chunk's payload: the final-state check alone
// misses damage that turns the stream into another valid message (e.g. between two symbols of
// equal frequency), and raw escape bits have no state check at all.
struct Crc32Tables {
    uint32_t t[8][256];
    Crc32Tables() {
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[0][i] = c;
        }
        for (uint32_t i = 0; i < 256; ++i)
            for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
    }
};

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
// Carry-less multiplication folding (Intel, "Fast CRC computation for generic polynomials using
// PCLMULQDQ"): one 128-bit block per step, then Barrett reduction. The constants are
// x^(128±32) and x^64 mod P and floor(x^64 / P) for the bit-reflected IEEE polynomial.
// Takes and returns the raw (non-inverted) CRC register; n >= 16.
__attribute__((target("pclmul,sse4.1"))) inline uint32_t crc32_clmul(const uint8_t* p, size_t n, uint32_t c) {
    const __m128i k34 = _mm_set_epi64x(0x00ccaa009eLL, 0x01751997d0LL);
    const __m128i k5 = _mm_set_epi64x(0, 0x0163cd6124LL);
    const __m128i poly = _mm_set_epi64x(0x01f7011641LL, 0x01db710641LL);
    const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
    __m128i x = _mm_xor_si128(_mm_loadu_si128((const __m128i*)p), _mm_cvtsi32_si128((int)c));
    for (p += 16, n -= 16; n >= 16; p += 16, n -= 16)
        x = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k34, 0x00), _mm_clmulepi64_si128(x, k34, 0x11)),
                          _mm_loadu_si128((const __m128i*)p));
    // 128 -> 64 bits
    x = _mm_xor_si128(_mm_clmulepi64_si128(x, k34, 0x10), _mm_srli_si128(x, 8));
    // 64 -> 32 bits
    x = _mm_xor_si128(_mm_srli_si128(x, 4), _mm_clmulepi64_si128(_mm_and_si128(x, mask32), k5, 0x00));
    // Barrett reduction
    __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x, mask32), poly, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), poly, 0x00);
    c = (uint32_t)_mm_extract_epi32(_mm_xor_si128(t, x), 1);
    // the remaining < 16 bytes go through the table path of crc32()
    return c;
}

inline bool cpu_has_clmul() {
    static const bool yes = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    return yes;
}
#define LCE_CRC_CLMUL 1
#else
#define LCE_CRC_CLMUL 0
#endif

// crc32(data, n, crc32(prefix)) == crc32(prefix + data), as zlib.crc32(data, value).
inline uint32_t crc32(const uint8_t* p, size_t n, uint32_t crc) {
    static const Crc32Tables T;
    uint32_t c = ~crc;
#if LCE_CRC_CLMUL
    if (n >= 64 && cpu_has_clmul()) {
        const size_t m = n & ~(size_t)15;
        c = crc32_clmul(p, m, c);
        p += m;
        n -= m;
    }
#endif
    for (; n >= 8; n -= 8, p += 8) {
        const uint32_t lo = load_u32(p) ^ c, hi = load_u32(p + 4);
        c = T.t[7][lo & 0xff] ^ T.t[6][(lo >> 8) & 0xff] ^ T.t[5][(lo >> 16) & 0xff] ^ T.t[4][lo >> 24] ^
            T.t[3][hi & 0xff] ^ T.t[2][(hi >> 8) & 0xff] ^ T.t[1][(hi >> 16) & 0xff] ^ T.t[0][hi >> 24];
    }
    for (; n; --n, ++p) c = T.t[0][(c ^ *p) & 0xff] ^ (c >> 8);
    return ~c;
}

// Verifies a chunk's CRC and the zero padding of its escape block before anything is decoded.
inline void check_chunk(const uint8_t* data, const StreamHeader& h, const ChunkLayout& L) {
    if (crc32(data + L.states, L.end - 4 - L.states, h.prefix_crc) != load_u32(data + L.end - 4))
        throw StreamError("corrupt stream: chunk CRC mismatch");
    if (L.n_esc) {
        const uint64_t bits = (uint64_t)L.n_esc * L.esc_width;
        if ((bits % 8) && (data[L.end - 5] >> (bits % 8))) throw StreamError("corrupt stream: escape block padding");
    }
}

// LSB-first bit packing of escaped values, `width` bits each.
inline void pack_bits(std::string& s, const uint64_t* v, size_t n, int width) {
    uint64_t acc = 0;
    int have = 0;
    for (size_t i = 0; i < n; ++i) {
        for (int b = 0; b < width; b += 32) {  // two steps keep acc from overflowing
            const int k = std::min(32, width - b);
            acc |= ((v[i] >> b) & ((1ull << k) - 1)) << have;
            have += k;
            while (have >= 8) {
                s.push_back((char)(uint8_t)acc);
                acc >>= 8;
                have -= 8;
            }
        }
    }
    if (have) s.push_back((char)(uint8_t)acc);
}

struct BitReader {
    const uint8_t* p;
    uint64_t bitpos = 0;
    uint64_t read(int width) {
        uint64_t v = 0;
        for (int b = 0; b < width; ++b, ++bitpos)
            v |= (uint64_t)((p[bitpos >> 3] >> (bitpos & 7)) & 1) << b;
        return v;
    }
};

}  // namespace lce
