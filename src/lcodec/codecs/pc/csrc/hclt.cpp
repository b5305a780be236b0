// Fixed-point HCLT kernel; see hclt.hpp for the model and why the coding order is a pre-order.
#include "hclt.hpp"

#include <algorithm>

namespace pc {
namespace {

int bit_length(uint64_t v) { return v ? 64 - __builtin_clzll(v) : 0; }

// out = in rescaled by a power of two so that max(out) is in [2^23, 2^24). Only shifts, so exact
// and portable; entries far below the maximum may round to 0 (the model then treats them as impossible
// for this image, which costs bits but never correctness: frequencies stay >= 1).
void rescale(const uint64_t* in, uint32_t* out, int K) {
    uint64_t m = 0;
    for (int k = 0; k < K; ++k) m = std::max(m, in[k]);
    if (m == 0) throw std::logic_error("HCLT kernel: all states have zero weight");
    const int shift = bit_length(m) - kStateBits;
    if (shift >= 0)
        for (int k = 0; k < K; ++k) out[k] = (uint32_t)(in[k] >> shift);
    else
        for (int k = 0; k < K; ++k) out[k] = (uint32_t)(in[k] << -shift);
}

// out[j] = sum_i v[i] * M[i, j] for a K x K matrix of 16-bit entries (24 + 16 + 8 bits < 2^56).
void vec_mat(const uint32_t* v, const uint16_t* M, uint64_t* out, int K) {
    std::fill(out, out + K, 0);
    for (int i = 0; i < K; ++i) {
        const uint64_t vi = v[i];
        const uint16_t* row = M + (size_t)i * K;
        for (int j = 0; j < K; ++j) out[j] += vi * row[j];
    }
}

// out[i] = sum_j M[i, j] * v[j]: the upward message of a child to its parent's states.
void mat_vec(const uint16_t* M, const uint32_t* v, uint64_t* out, int K) {
    for (int i = 0; i < K; ++i) {
        const uint16_t* row = M + (size_t)i * K;
        uint64_t s = 0;
        for (int j = 0; j < K; ++j) s += (uint64_t)row[j] * v[j];
        out[i] = s;
    }
}

// In place: a[k] = rescale(a[k] * b[k]) (two 24-bit factors: 48 bits).
void multiply(uint32_t* a, const uint32_t* b, uint64_t* scratch, int K) {
    for (int k = 0; k < K; ++k) scratch[k] = (uint64_t)a[k] * b[k];
    rescale(scratch, a, K);
}

}  // namespace

Model::Model(int D_, int K_, int V_, int B_, const int32_t* parent_, const uint16_t* prior_,
             const uint16_t* trans_, const uint16_t* emit_, const int32_t* emit_of_, int precision_)
    : D(D_), K(K_), V(V_), B(B_), precision(precision_) {
    if (D < 1 || K < 1 || K > kMaxStates || V < 2 || V > kMaxValues || B < 1)
        throw InputError("HCLT: need D >= 1, 1 <= K <= 256, 2 <= V <= 4096, B >= 1");
    if (precision < 1 || precision > 16 || (1 << precision) < 2 * V)
        throw InputError("HCLT: precision must be in 1..16 with 2^precision >= 2 V");
    parent.assign(parent_, parent_ + D);
    emit_of.assign(emit_of_, emit_of_ + D);
    prior.assign(prior_, prior_ + K);
    trans.assign(trans_, trans_ + (size_t)D * K * K);
    emit.assign(emit_, emit_ + (size_t)B * V * K);
    for (int b = 0; b < D; ++b)
        if (emit_of[b] < 0 || emit_of[b] >= B) throw InputError("HCLT: emission index out of range");
    for (uint16_t p : prior)
        if (p == 0) throw InputError("HCLT: parameters must be >= 1");
    for (size_t i = (size_t)K * K; i < trans.size(); ++i)  // position 0 (the root) has no transition
        if (trans[i] == 0) throw InputError("HCLT: parameters must be >= 1");
    for (uint16_t p : emit)
        if (p == 0) throw InputError("HCLT: parameters must be >= 1");
    // A pre-order: the root first, then each node's parent is on the current root path.
    if (parent[0] != -1) throw InputError("HCLT: position 0 must be the root (parent -1)");
    std::vector<int32_t> path{0};
    for (int t = 1; t < D; ++t) {
        while (!path.empty() && path.back() != parent[t]) path.pop_back();
        if (path.empty()) throw InputError("HCLT: positions are not a depth-first pre-order of the tree");
        path.push_back(t);
    }
    end.resize(D);
    for (int t = D - 1; t >= 0; --t) {
        end[t] = std::max(end[t], t);
        if (t > 0) end[parent[t]] = std::max(end[parent[t]], end[t]);
    }
    // Subtrees ending at t, deepest (largest position) first.
    std::vector<std::vector<int32_t>> closing(D);
    for (int u = D - 1; u >= 0; --u) closing[end[u]].push_back(u);
    close_begin.assign(1, 0);
    for (int t = 0; t < D; ++t) {
        close_nodes.insert(close_nodes.end(), closing[t].begin(), closing[t].end());
        close_begin.push_back((int32_t)close_nodes.size());
    }
}

Model::State Model::new_state() const {
    State s;
    s.alpha.assign((size_t)D * K, 0);
    s.inside.assign((size_t)D * K, 0);
    s.freq.assign(V, 0);
    s.acc.assign(std::max(K, V), 0);
    s.ctx.assign(K, 0);
    return s;
}

void Model::frequencies(State& s) const {
    // s.acc[0..V) holds unnormalised p(x_t = v, x_<t) (< 2^56); bring the maximum below 2^31.
    uint64_t m = 0;
    for (int v = 0; v < V; ++v) m = std::max(m, s.acc[v]);
    const int shift = std::max(0, bit_length(m) - 31);
    uint64_t total = 0;
    for (int v = 0; v < V; ++v) total += (s.acc[v] >>= shift);
    // Each value gets 1 plus its share of the rest (q * R < 2^47); the rounding remainder (< V)
    // goes to the first most probable value.
    const uint64_t rest = (1u << precision) - (uint32_t)V;
    uint64_t used = 0;
    int best = 0;
    for (int v = 0; v < V; ++v) {
        const uint64_t share = s.acc[v] * rest / total;
        s.freq[v] = 1 + (uint32_t)share;
        used += share;
        if (s.acc[v] > s.acc[best]) best = v;
    }
    s.freq[best] += (uint32_t)(rest - used);
}

void Model::predict(State& s, int t) const {
    uint32_t* alpha = s.alpha.data() + (size_t)t * K;
    if (t == 0) {
        for (int k = 0; k < K; ++k) s.acc[k] = prior[k];
    } else {
        // Context of the parent: p(h_p, observed so far) = alpha_p * inside_p; then one transition.
        const size_t p = (size_t)parent[t] * K;
        for (int k = 0; k < K; ++k) s.acc[k] = (uint64_t)s.alpha[p + k] * s.inside[p + k];
        rescale(s.acc.data(), s.ctx.data(), K);
        vec_mat(s.ctx.data(), trans_of(t), s.acc.data(), K);
    }
    rescale(s.acc.data(), alpha, K);
    const uint16_t* E = emit.data() + (size_t)emit_of[t] * V * K;
    for (int v = 0; v < V; ++v) {
        const uint16_t* row = E + (size_t)v * K;
        uint64_t q = 0;
        for (int k = 0; k < K; ++k) q += (uint64_t)alpha[k] * row[k];
        s.acc[v] = q;
    }
    frequencies(s);
}

void Model::observe(State& s, int t, int x) const {
    const uint16_t* e = emit_row(t, x);
    for (int k = 0; k < K; ++k) s.acc[k] = e[k];
    rescale(s.acc.data(), s.inside.data() + (size_t)t * K, K);
    for (int i = close_begin[t]; i < close_begin[t + 1]; ++i) {
        const int u = close_nodes[i];
        if (u == 0) break;  // the root closes last and sends nothing up
        mat_vec(trans_of(u), s.inside.data() + (size_t)u * K, s.acc.data(), K);
        rescale(s.acc.data(), s.ctx.data(), K);
        multiply(s.inside.data() + (size_t)parent[u] * K, s.ctx.data(), s.acc.data(), K);
    }
}

template <class T>
static void check_pixels(const T* pixels, int64_t count, int V) {
    for (int64_t i = 0; i < count; ++i)
        if ((int)pixels[i] >= V)
            throw InputError("pixel value " + std::to_string((int)pixels[i]) + " is outside the model's range 0.." +
                             std::to_string(V - 1));
}

static uint32_t start_of(const std::vector<uint32_t>& freq, int x) {
    uint32_t start = 0;
    for (int v = 0; v < x; ++v) start += freq[v];
    return start;
}

template <class T>
void Model::encode(const T* pixels, int64_t N, uint32_t* starts, uint32_t* freqs) const {
    check_pixels(pixels, N * D, V);
    State s = new_state();
    for (int64_t n = 0; n < N; ++n) {
        const T* x = pixels + n * D;
        for (int t = 0; t < D; ++t) {
            predict(s, t);
            starts[t * N + n] = start_of(s.freq, x[t]);
            freqs[t * N + n] = s.freq[x[t]];
            observe(s, t, x[t]);
        }
    }
}

template <class T>
void Model::naive_intervals(const T* pixels, int64_t N, uint32_t* starts, uint32_t* freqs) const {
    check_pixels(pixels, N * D, V);
    State s = new_state();
    std::vector<uint32_t> below((size_t)D * K), msg((size_t)D * K), ctx(K), alpha(K);
    std::vector<int32_t> path;
    for (int64_t n = 0; n < N; ++n) {
        const T* x = pixels + n * D;
        for (int t = 0; t < D; ++t) {
            // Upward pass over the whole tree: pixels before t observed, the rest summed out.
            for (int u = D - 1; u >= 0; --u) {
                uint32_t* b = below.data() + (size_t)u * K;
                std::fill(b, b + K, 1u << (kStateBits - 1));
            }
            for (int u = D - 1; u >= 1; --u) {
                uint32_t* b = below.data() + (size_t)u * K;
                uint32_t* m = msg.data() + (size_t)u * K;
                if (u < t) {
                    const uint16_t* e = emit_row(u, x[u]);
                    for (int k = 0; k < K; ++k) ctx[k] = e[k];
                    multiply(b, ctx.data(), s.acc.data(), K);
                }
                mat_vec(trans_of(u), b, s.acc.data(), K);
                rescale(s.acc.data(), m, K);
                multiply(below.data() + (size_t)parent[u] * K, m, s.acc.data(), K);
            }
            // Downward pass along the root path: everything except the branch towards t.
            path.clear();
            for (int u = t; u >= 0; u = parent[u]) path.push_back(u);
            std::reverse(path.begin(), path.end());
            for (int k = 0; k < K; ++k) s.acc[k] = prior[k];
            rescale(s.acc.data(), alpha.data(), K);
            for (size_t i = 0; i + 1 < path.size(); ++i) {
                const int a = path[i], c = path[i + 1];
                ctx = alpha;
                const uint16_t* e = emit_row(a, x[a]);
                for (int k = 0; k < K; ++k) s.acc[k] = (uint64_t)ctx[k] * e[k];
                rescale(s.acc.data(), ctx.data(), K);
                for (int u = a + 1; u <= end[a]; ++u)  // the other children of a
                    if (parent[u] == a && u != c) multiply(ctx.data(), msg.data() + (size_t)u * K, s.acc.data(), K);
                vec_mat(ctx.data(), trans_of(c), s.acc.data(), K);
                rescale(s.acc.data(), alpha.data(), K);
            }
            multiply(alpha.data(), below.data() + (size_t)t * K, s.acc.data(), K);
            const uint16_t* E = emit.data() + (size_t)emit_of[t] * V * K;
            for (int v = 0; v < V; ++v) {
                uint64_t q = 0;
                for (int k = 0; k < K; ++k) q += (uint64_t)alpha[k] * E[(size_t)v * K + k];
                s.acc[v] = q;
            }
            frequencies(s);
            starts[t * N + n] = start_of(s.freq, x[t]);
            freqs[t * N + n] = s.freq[x[t]];
        }
    }
}

template void Model::encode<uint8_t>(const uint8_t*, int64_t, uint32_t*, uint32_t*) const;
template void Model::encode<uint16_t>(const uint16_t*, int64_t, uint32_t*, uint32_t*) const;
template void Model::naive_intervals<uint8_t>(const uint8_t*, int64_t, uint32_t*, uint32_t*) const;
template void Model::naive_intervals<uint16_t>(const uint16_t*, int64_t, uint32_t*, uint32_t*) const;

Decoder::Decoder(const Model& model, int64_t N) : model_(model), N_(N) {
    if (N < 1) throw InputError("decoder needs at least one image");
    states_.reserve((size_t)N);
    for (int64_t n = 0; n < N; ++n) states_.push_back(model.new_state());
    pixels_.assign((size_t)N * model.D, 0);
}

void Decoder::step(const uint32_t* slots, size_t n, uint32_t* starts, uint32_t* freqs) {
    if ((int64_t)n > N_) throw InputError("step: more symbols than images (two would belong to one image)");
    if (pos_ + (int64_t)n > size()) throw InputError("step: past the last symbol");
    const uint32_t M = 1u << model_.precision;
    for (size_t j = 0; j < n; ++j, ++pos_) {
        const int t = (int)(pos_ / N_);
        const int64_t image = pos_ % N_;
        Model::State& s = states_[(size_t)image];
        model_.predict(s, t);
        if (slots[j] >= M) throw InputError("step: slot outside [0, 2^precision)");
        uint32_t start = 0;
        int x = 0;
        while (slots[j] >= start + s.freq[x]) start += s.freq[x++];
        starts[j] = start;
        freqs[j] = s.freq[x];
        pixels_[(size_t)image * model_.D + t] = (uint16_t)x;
        model_.observe(s, t, x);
    }
}

}  // namespace pc
