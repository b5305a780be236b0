// CUDA entropy coder (cuda_coder.cu): the stream format of the CPU coder, one warp per chunk.
// Host-side API with plain pointers so that only this pair of files needs nvcc.
#pragma once

#include <cstdint>
#include <string>

#include "coder.hpp"

namespace lce::cuda {

// d_* are device pointers on the current device; `stream` is a cudaStream_t (0: default).
// `data` is the stream in host memory (it is parsed on the host, then copied over).
void decode_indexed(const uint8_t* data, size_t size, const int32_t* d_idx, uint64_t n_idx, const Tables& T,
                    int32_t* d_out, uintptr_t stream);

std::string encode_indexed(const int32_t* d_sym, const int32_t* d_idx, uint64_t n, const Tables& T,
                           uint64_t chunk_size, int lanes, uintptr_t stream);

std::string encode_intervals(const int32_t* d_starts, const int32_t* d_freqs, uint64_t n, int precision,
                             uint64_t chunk_size, int lanes, uintptr_t stream);

// Explicit-interval decoding on the GPU, one round at a time: round r decodes, in every chunk c,
// the symbol t = r * lanes_c + j of each lane j, so a model on the GPU (an autoregressive prior,
// a probabilistic circuit) can answer for up to 32 * chunks symbols per round.
class IntervalStepDecoder {
public:
    IntervalStepDecoder(const uint8_t* data, size_t size, uintptr_t stream);
    ~IntervalStepDecoder();
    IntervalStepDecoder(const IntervalStepDecoder&) = delete;
    IntervalStepDecoder& operator=(const IntervalStepDecoder&) = delete;

    size_t chunks() const { return h_.chunks.size(); }
    int precision() const { return h_.precision; }
    uint64_t size() const { return h_.n; }
    uint64_t rounds() const { return rounds_; }
    uint64_t round() const { return round_; }

    // d_slots, d_pos: int32 / int64 [chunks * 32]; idle lanes get -1 in both.
    void peek(int32_t* d_slots, int64_t* d_pos) const;
    // d_starts, d_freqs: int32 [chunks * 32] (idle lanes ignored). After the last round every
    // chunk's final state is checked; errors (intervals that miss the slot, corrupt stream) are
    // reported then, or by verify().
    void advance(const int32_t* d_starts, const int32_t* d_freqs);
    void verify() const;

private:
    StreamHeader h_;
    uint64_t rounds_ = 0, round_ = 0;
    uintptr_t stream_;
    void* data_ = nullptr;    // stream bytes
    void* chunks_ = nullptr;  // DChunk [chunks]
    void* x_ = nullptr;       // uint32 [chunks * 32]
    void* pos_ = nullptr;     // uint32 [chunks]: words consumed
    void* err_ = nullptr;     // int32 [chunks]
};

}  // namespace lce::cuda
