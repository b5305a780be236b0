// Fixed-point conditionals of a hidden Chow-Liu tree (HCLT), the probabilities of the pc codec.
//
// Why integers: the decoder must rebuild exactly the frequencies the encoder used, on any machine.
// Every step below is an integer multiply, add or shift, so the conditionals are bit-identical
// everywhere (DESIGN.md §4, determinism contract). Float (torch) is used for training only.
//
// The model, with nodes numbered by their position in the coding order (a depth-first pre-order
// of the tree, so every subtree is a contiguous run of positions and a parent precedes its children):
//   p(h_0) = prior, p(h_t | h_parent(t)) = trans[t], p(x_t | h_t) = emit[emit_of[t]]
// with K hidden states per node and V pixel values (emission tables may be shared between pixels). Parameters are probabilities times 2^16,
// in [1, 65535] (uint16; rows need not sum exactly to 2^16).
//
// Why pre-order makes coding cheap: when node t is coded, the observed pixels are its ancestors
// and the subtrees of earlier siblings of its ancestors, all complete; nothing below t is
// observed. So p(h_t | x_<t) follows from the parent's context in K^2 operations, and a subtree's
// upward message is computed once, when its last pixel is known. Cost per image: O(D (2 K^2 + K V))
// = O(|p|), against O(D |p|) for a full upward/downward pass per pixel (naive_intervals).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace pc {

constexpr int kStateBits = 24;  // state vectors are rescaled so their maximum is in [2^23, 2^24)
constexpr int kMaxStates = 256;  // keeps every sum of products below 2^56 (24 + 16 + 8 bits)
constexpr int kMaxValues = 4096;

struct InputError : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

class Model {
public:
    // parent: int32 [D] (positions; -1 for position 0 only), prior: [K], trans: [D, K, K] (row of the
    // parent's state, then the child's; position 0 unused), emit: [B, V, K], emit_of: int32 [D] in
    // [0, B). precision: bits of the frequencies handed to the coder (2^precision >= 2 V).
    Model(int D, int K, int V, int B, const int32_t* parent, const uint16_t* prior, const uint16_t* trans,
          const uint16_t* emit, const int32_t* emit_of, int precision);

    int D, K, V, B, precision;

    // Intervals of N images (uint8/uint16 pixels [N, D] in coding order, values < V), written in
    // stream order: symbol t * N + n is pixel t of image n. packed = start | (freq - 1) << 16.
    template <class T>
    void encode(const T* pixels, int64_t N, uint32_t* starts, uint32_t* freqs) const;

    // The same intervals through a full upward pass and a downward pass along the root path for
    // every pixel (O(D |p|) per image): the baseline of the benchmark. Rounds differently, so its
    // intervals are close to, not equal to, encode()'s.
    template <class T>
    void naive_intervals(const T* pixels, int64_t N, uint32_t* starts, uint32_t* freqs) const;

    // Decoder/encoder state of one image: alpha [D, K] (p(h_t | x_<t), rescaled) and inside [D, K]
    // (p(observed pixels of the subtree of t | h_t) over the part coded so far, rescaled).
    struct State {
        std::vector<uint32_t> alpha, inside;
        std::vector<uint32_t> freq;  // [V]: the last prediction
        std::vector<uint32_t> ctx;   // [K] scratch
        std::vector<uint64_t> acc;   // [max(K, V)] scratch
    };
    State new_state() const;
    // s.freq = frequencies of pixel t (summing to 2^precision, each >= 1), all earlier pixels
    // having been recorded through observe().
    void predict(State& s, int t) const;
    // Record pixel t = x after predict(s, t), and close the subtrees that end at t.
    void observe(State& s, int t, int x) const;

    std::vector<int32_t> parent;
    std::vector<int32_t> end;          // [D] last position of the subtree of t
    std::vector<int32_t> close_begin;  // CSR over positions: the subtrees ending at t, deepest first
    std::vector<int32_t> close_nodes;
    std::vector<int32_t> emit_of;
    std::vector<uint16_t> prior, trans, emit;

private:
    // s.freq from s.acc[0..V) (unnormalised joint probabilities of each value).
    void frequencies(State& s) const;
    const uint16_t* emit_row(int t, int x) const { return emit.data() + ((size_t)emit_of[t] * V + x) * K; }
    const uint16_t* trans_of(int t) const { return trans.data() + (size_t)t * K * K; }
};

// Sequential decoder of N interleaved images: feed the slots of consecutive symbols, get their intervals.
class Decoder {
public:
    Decoder(const Model& model, int64_t N);
    // Decode the next n symbols from their slots; n must not exceed N (no two symbols of one image).
    void step(const uint32_t* slots, size_t n, uint32_t* starts, uint32_t* freqs);
    int64_t position() const { return pos_; }
    int64_t size() const { return (int64_t)model_.D * N_; }
    // Decoded pixels [N, D] in coding order (valid once position() == size()).
    const std::vector<uint16_t>& pixels() const { return pixels_; }

private:
    const Model& model_;
    int64_t N_;
    int64_t pos_ = 0;
    std::vector<Model::State> states_;
    std::vector<uint16_t> pixels_;
};

}  // namespace pc
