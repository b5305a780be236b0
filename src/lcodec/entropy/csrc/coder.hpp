// CPU coder: static indexed tables, explicit intervals, chunk-parallel encode/decode.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "rans.hpp"
#include "stream.hpp"

namespace lce {

// Bad arguments: wrong table contents, indexes out of range, intervals outside [0, 2^precision).
struct InputError : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

struct TableInfo {
    int32_t offset;  // value of symbol 0
    uint32_t nsym;   // regular symbols; symbol `nsym` is the escape
    uint32_t base;   // first entry of this table in esym / dsym
    uint32_t pad;
};
static_assert(sizeof(TableInfo) == 16, "the vector coders load TableInfo rows as 16 bytes");

// Validated static tables plus the per-symbol data both directions need. Built once per
// lcodec.entropy.Tables and reused; the decoder's slot table is built on first decode.
class Tables {
public:
    Tables(const int32_t* cdfs, size_t K, size_t stride, const int32_t* lengths, const int32_t* offsets,
           int precision, uint32_t digest);

    int precision;
    uint32_t K;
    uint32_t digest;
    std::vector<TableInfo> info;  // [K]
    std::vector<EncSym> esym;     // [sum(nsym + 1)]
    std::vector<DecSym> dsym;     // [sum(nsym + 1)]

    // Inverse CDF: slots()[(k << precision) | slot] = symbol of table k whose interval holds slot
    // (two spare entries at the end so a 32-bit gather of the last entry stays in bounds).
    const std::vector<uint16_t>& slots() const;
    // The vector decoder's tables (empty when precision is 16, which leaves no spare bit, or the
    // tables are too large for 32-bit gathers). Small tables (up to 64K slots in all, which stay
    // in the L2 cache): slot_steps()[2i] = (slot - start) | (freq - 1) << 16 | escape << 31 and
    // [2i + 1] = offset + symbol, one lookup per symbol. Larger ones: the 2-byte slots() plus
    // sym_steps()[2 (base_k + s)] = start | (freq - 1) << 16 | escape << 31, [.. + 1] = offset +
    // s, a 4x smaller footprint for the one lookup that misses the cache.
    const std::vector<uint32_t>& slot_steps() const;
    const std::vector<uint32_t>& sym_steps() const;
    // For the vector encoder, per symbol (same indexing as esym): rcp, xmax, bias, cmpl | s << 16,
    // with q = (t + ((x - t) >> 1)) >> s, t = mulhi(x, rcp), a form without 33-bit sums; freq 1
    // uses rcp = 2^32 - 1 (so q = x - 1) and bias = start + cmpl.
    const std::vector<uint32_t>& enc_vec() const;
    std::vector<int32_t> bases;  // [K]: info[k].base, for gathers

    // Device copies of the tables, owned here so they live as long as the tables (cuda_coder.cu).
    mutable std::mutex device_mutex;
    mutable std::shared_ptr<void> device_cache;

private:
    void build_slots() const;
    mutable std::once_flag slots_once_;
    mutable std::vector<uint16_t> slots_;
    mutable std::vector<uint32_t> steps_;
    mutable std::vector<uint32_t> sym_steps_;
    mutable std::once_flag enc_vec_once_;
    mutable std::vector<uint32_t> enc_vec_;
};

struct Rcp {
    uint32_t rcp;
    uint32_t shift;
};
// Reciprocals for every frequency 1..2^16, for coding explicit intervals without a divide.
const Rcp* reciprocals();

// Table index of each symbol: an array, or one index for every symbol (mask 0), without
// materialising it. idx[t] reads p[t & mask].
struct IndexSource {
    const int32_t* p;
    uint64_t mask;  // ~0: array, 0: the single value p[0]
    int32_t operator[](uint64_t t) const { return p[t & mask]; }
    IndexSource operator+(uint64_t o) const { return IndexSource{p + (o & mask), mask}; }
};

// One encoded chunk, wherever it was coded (CPU threads or the GPU).
struct ChunkParts {
    const uint16_t* words;  // in decode order
    uint32_t n_words;
    uint32_t lanes;
    const uint32_t* states;  // [lanes], encoder's final = decoder's initial states
    const uint64_t* esc;     // [n_esc] escaped values in symbol order
    uint32_t n_esc;
};
// Directory, payloads and CRCs after `head` (from header_prefix).
std::string assemble_stream(std::string head, Kind kind, const std::vector<ChunkParts>& chunks);

int resolve_threads(int threads);
int resolve_lanes(int lanes, uint64_t n);

std::string encode_indexed(const int32_t* symbols, IndexSource indexes, uint64_t n, const Tables& T,
                           uint64_t chunk_size, int lanes, int threads);
// `out` holds header.n values; `n_indexes` must equal it (it is not checked for a single index).
void decode_indexed(const uint8_t* data, size_t size, IndexSource indexes, uint64_t n_indexes, const Tables& T,
                    int32_t* out, int threads);

// packed[i] = start | (freq - 1) << 16, already validated against `precision`.
std::string encode_intervals(const uint32_t* packed, uint64_t n, int precision, uint64_t chunk_size, int lanes,
                             int threads);

// Sequential decoder of an intervals stream: the caller searches its own CDF for peek()'s slot.
class IntervalDecoder {
public:
    IntervalDecoder(const uint8_t* data, size_t size);

    uint64_t size() const { return h_.n; }
    uint64_t position() const { return pos_; }
    int precision() const { return h_.precision; }
    int lanes() const { return h_.lanes; }

    uint32_t peek() const;
    void advance(uint32_t start, uint32_t freq);
    // Slots of the next n symbols (n <= lanes: they sit in different lanes, so none depends on another).
    void peek_many(uint32_t* out, size_t n) const;

private:
    uint32_t state_at(uint64_t pos) const;
    void enter_chunk();

    std::string data_;
    StreamHeader h_;
    uint64_t pos_ = 0;    // symbols decoded so far
    size_t chunk_ = 0;    // current chunk
    uint32_t x_[kMaxLanes];
    const uint8_t* p_ = nullptr;
    const uint8_t* end_ = nullptr;
};

}  // namespace lce
