// nanobind module lcodec.entropy._core: the compiled entropy-coding engine.
// Arrays arrive through nanobind's ndarray (numpy buffers, torch tensors via DLPack) without copies;
// dtypes are checked by the Python layer, and `noconvert` keeps nanobind from casting silently.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include "coder.hpp"
#ifdef LCODEC_WITH_CUDA
#include "cuda_coder.hpp"
#endif

namespace nb = nanobind;
using namespace nb::literals;

namespace {

template <class T>
using Vec = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using I32 = Vec<int32_t>;
using U8 = Vec<uint8_t>;
using I32Out = nb::ndarray<int32_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using I32x2 = nb::ndarray<const int32_t, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

nb::bytes to_bytes(const std::string& s) { return nb::bytes(s.data(), s.size()); }

// n indexes, or a single one shared by all n symbols.
lce::IndexSource index_source(const I32& indexes, size_t n) {
    if (indexes.shape(0) == n) return lce::IndexSource{indexes.data(), ~0ull};
    if (indexes.shape(0) == 1) return lce::IndexSource{indexes.data(), 0};
    throw lce::InputError("need one index per symbol (" + std::to_string(n) + "), or a single index; got " +
                          std::to_string(indexes.shape(0)));
}

// Explicit-interval encoder: buffers intervals in call order and codes them backwards on finish().
class IntervalEncoder {
public:
    explicit IntervalEncoder(int precision) : precision_(precision) {
        if (precision < 1 || precision > lce::kMaxPrecision) throw lce::InputError("precision must be in [1, 16]");
    }

    void push(int64_t start, int64_t freq) {
        check(start, freq, packed_.size());
        packed_.push_back((uint32_t)start | (uint32_t)(freq - 1) << 16);
    }

    template <class T>
    void push_array(Vec<T> starts, Vec<T> freqs) {
        const size_t n = starts.shape(0);
        if (freqs.shape(0) != n) throw lce::InputError("starts and freqs must have the same length");
        const size_t base = packed_.size();
        packed_.resize(base + n);
        const T* s = starts.data();
        const T* f = freqs.data();
        const int64_t M = 1 << precision_;
        for (size_t i = 0; i < n; ++i) {
            const int64_t a = (int64_t)s[i], b = (int64_t)f[i];
            if (b < 1 || a < 0 || a + b > M) {
                packed_.resize(base);
                check(a, b, base + i);
            }
            packed_[base + i] = (uint32_t)a | (uint32_t)(b - 1) << 16;
        }
    }

    nb::bytes finish(uint64_t chunk_size, int lanes, int threads) {
        std::string out;
        {
            nb::gil_scoped_release release;
            out = lce::encode_intervals(packed_.data(), packed_.size(), precision_, chunk_size, lanes, threads);
        }
        packed_.clear();
        return to_bytes(out);
    }

    size_t size() const { return packed_.size(); }
    int precision() const { return precision_; }

private:
    void check(int64_t start, int64_t freq, size_t i) const {
        const int64_t M = 1 << precision_;
        if (freq < 1 || start < 0 || start + freq > M)
            throw lce::InputError("interval " + std::to_string(i) + " (start=" + std::to_string(start) +
                                  ", freq=" + std::to_string(freq) + ") is not a non-empty part of [0, 2^" +
                                  std::to_string(precision_) + ")");
    }

    int precision_;
    std::vector<uint32_t> packed_;
};

nb::dict stream_info(U8 data) {
    const lce::StreamHeader h = lce::parse_stream(data.data(), data.shape(0));
    nb::dict d;
    d["kind"] = h.kind == lce::kIndexed ? "indexed" : "intervals";
    d["precision"] = h.precision;
    d["lanes"] = h.lanes;
    d["size"] = h.n;
    d["chunk_size"] = h.chunk_size;
    d["chunks"] = h.chunks.size();
    d["escapes"] = [&] {
        uint64_t e = 0;
        for (const auto& c : h.chunks) e += c.n_esc;
        return e;
    }();
    if (h.kind == lce::kIndexed) d["digest"] = h.digest;
    return d;
}

}  // namespace

NB_MODULE(_core, m) {
    m.doc() = "lcodec entropy-coding core (C++17)";
    m.attr("FORMAT") = "rans32x32-v1";
    m.attr("MAX_LANES") = lce::kMaxLanes;
    m.attr("MAX_CHUNK") = lce::kMaxChunk;
    nb::exception<lce::StreamError>(m, "StreamError", PyExc_ValueError);

    nb::class_<lce::Tables>(m, "Tables")
        .def(
            "__init__",
            [](lce::Tables* self, I32x2 cdfs, I32 lengths, I32 offsets, int precision, uint32_t digest) {
                const size_t K = cdfs.shape(0);
                if (lengths.shape(0) != K || offsets.shape(0) != K)
                    throw lce::InputError("cdfs, cdf_lengths and offsets disagree on the number of tables");
                new (self) lce::Tables(cdfs.data(), K, cdfs.shape(1), lengths.data(), offsets.data(), precision,
                                       digest);
            },
            "cdfs"_a.noconvert(), "cdf_lengths"_a.noconvert(), "offsets"_a.noconvert(), "precision"_a, "digest"_a)
        .def_ro("precision", &lce::Tables::precision)
        .def_rw("digest", &lce::Tables::digest);

    m.def(
        "encode_indexed",
        [](I32 symbols, I32 indexes, const lce::Tables& T, uint64_t chunk_size, int lanes, int threads) {
            const lce::IndexSource src = index_source(indexes, symbols.shape(0));
            std::string out;
            {
                nb::gil_scoped_release release;
                out = lce::encode_indexed(symbols.data(), src, symbols.shape(0), T, chunk_size, lanes, threads);
            }
            return to_bytes(out);
        },
        "symbols"_a.noconvert(), "indexes"_a.noconvert(), "tables"_a, "chunk_size"_a, "lanes"_a, "threads"_a,
        "indexes: one per symbol, or a single index for all of them");

    m.def(
        "decode_indexed",
        [](U8 data, I32 indexes, const lce::Tables& T, I32Out out, int threads) {
            const lce::IndexSource src = index_source(indexes, out.shape(0));
            nb::gil_scoped_release release;
            lce::decode_indexed(data.data(), data.shape(0), src, out.shape(0), T, out.data(), threads);
        },
        "data"_a.noconvert(), "indexes"_a.noconvert(), "tables"_a, "out"_a.noconvert(), "threads"_a);

    m.def("stream_info", &stream_info, "data"_a.noconvert());
    m.def(
        "crc32", [](U8 data, uint32_t value) { return lce::crc32(data.data(), data.shape(0), value); },
        "data"_a.noconvert(), "value"_a = 0, "zlib.crc32 (the chunk checksum of the stream format)");

    nb::class_<IntervalEncoder>(m, "IntervalEncoder")
        .def(nb::init<int>(), "precision"_a)
        .def("push", &IntervalEncoder::push, "start"_a, "freq"_a)
        .def("push_array", &IntervalEncoder::push_array<int32_t>, "starts"_a.noconvert(), "freqs"_a.noconvert())
        .def("push_array", &IntervalEncoder::push_array<uint32_t>, "starts"_a.noconvert(), "freqs"_a.noconvert())
        .def("push_array", &IntervalEncoder::push_array<int64_t>, "starts"_a.noconvert(), "freqs"_a.noconvert())
        .def("push_array", &IntervalEncoder::push_array<uint16_t>, "starts"_a.noconvert(), "freqs"_a.noconvert())
        .def("finish", &IntervalEncoder::finish, "chunk_size"_a, "lanes"_a, "threads"_a)
        .def("__len__", &IntervalEncoder::size)
        .def_prop_ro("precision", &IntervalEncoder::precision);

    nb::class_<lce::IntervalDecoder>(m, "IntervalDecoder")
        .def(
            "__init__",
            [](lce::IntervalDecoder* self, U8 data) { new (self) lce::IntervalDecoder(data.data(), data.shape(0)); },
            "data"_a.noconvert())
        .def("peek", &lce::IntervalDecoder::peek)
        .def("advance", [](lce::IntervalDecoder& d, int64_t start, int64_t freq) {
            if (start < 0 || freq < 1 || start > 65536 || freq > 65536)
                throw lce::InputError("interval outside [0, 2^precision)");
            d.advance((uint32_t)start, (uint32_t)freq);
        }, "start"_a, "freq"_a)
        .def(
            "peek_many",
            [](const lce::IntervalDecoder& d, size_t n) {
                if (n > (size_t)d.lanes()) throw lce::InputError("peek_many: n must not exceed the stream's lane count");
                uint32_t* buf = new uint32_t[n ? n : 1];
                nb::capsule owner(buf, [](void* p) noexcept { delete[] (uint32_t*)p; });
                d.peek_many(buf, n);
                return nb::ndarray<nb::numpy, uint32_t, nb::ndim<1>>(buf, {n}, owner);
            },
            "n"_a)
        .def(
            "advance_many",
            [](lce::IntervalDecoder& d, Vec<uint32_t> starts, Vec<uint32_t> freqs) {
                const size_t n = starts.shape(0);
                if (freqs.shape(0) != n) throw lce::InputError("starts and freqs must have the same length");
                for (size_t i = 0; i < n; ++i) d.advance(starts.data()[i], freqs.data()[i]);
            },
            "starts"_a.noconvert(), "freqs"_a.noconvert())
        .def("__len__", &lce::IntervalDecoder::size)
        .def_prop_ro("position", &lce::IntervalDecoder::position)
        .def_prop_ro("precision", &lce::IntervalDecoder::precision)
        .def_prop_ro("lanes", &lce::IntervalDecoder::lanes);

#ifdef LCODEC_WITH_CUDA
    using CI32 = nb::ndarray<const int32_t, nb::ndim<1>, nb::c_contig, nb::device::cuda>;
    using CI32Out = nb::ndarray<int32_t, nb::ndim<1>, nb::c_contig, nb::device::cuda>;
    m.def(
        "cuda_encode_indexed",
        [](CI32 symbols, CI32 indexes, const lce::Tables& T, uint64_t chunk_size, int lanes, uintptr_t stream) {
            if (symbols.shape(0) != indexes.shape(0)) throw lce::InputError("symbols and indexes differ in length");
            std::string out;
            {
                nb::gil_scoped_release release;
                out = lce::cuda::encode_indexed(symbols.data(), indexes.data(), symbols.shape(0), T, chunk_size,
                                                lanes, stream);
            }
            return to_bytes(out);
        },
        "symbols"_a.noconvert(), "indexes"_a.noconvert(), "tables"_a, "chunk_size"_a, "lanes"_a, "stream"_a);
    m.def(
        "cuda_decode_indexed",
        [](U8 data, CI32 indexes, const lce::Tables& T, CI32Out out, uintptr_t stream) {
            if (out.shape(0) != indexes.shape(0)) throw lce::InputError("out and indexes differ in length");
            nb::gil_scoped_release release;
            lce::cuda::decode_indexed(data.data(), data.shape(0), indexes.data(), indexes.shape(0), T, out.data(),
                                      stream);
        },
        "data"_a.noconvert(), "indexes"_a.noconvert(), "tables"_a, "out"_a.noconvert(), "stream"_a);
    m.def(
        "cuda_encode_intervals",
        [](CI32 starts, CI32 freqs, int precision, uint64_t chunk_size, int lanes, uintptr_t stream) {
            if (starts.shape(0) != freqs.shape(0)) throw lce::InputError("starts and freqs differ in length");
            std::string out;
            {
                nb::gil_scoped_release release;
                out = lce::cuda::encode_intervals(starts.data(), freqs.data(), starts.shape(0), precision,
                                                  chunk_size, lanes, stream);
            }
            return to_bytes(out);
        },
        "starts"_a.noconvert(), "freqs"_a.noconvert(), "precision"_a, "chunk_size"_a, "lanes"_a, "stream"_a);
    using CI64Out = nb::ndarray<int64_t, nb::ndim<1>, nb::c_contig, nb::device::cuda>;
    nb::class_<lce::cuda::IntervalStepDecoder>(m, "CudaIntervalDecoder")
        .def(
            "__init__",
            [](lce::cuda::IntervalStepDecoder* self, U8 data, uintptr_t stream) {
                new (self) lce::cuda::IntervalStepDecoder(data.data(), data.shape(0), stream);
            },
            "data"_a.noconvert(), "stream"_a)
        .def("peek",
             [](const lce::cuda::IntervalStepDecoder& d, CI32Out slots, CI64Out positions) {
                 if (slots.shape(0) != 32 * d.chunks() || positions.shape(0) != 32 * d.chunks())
                     throw lce::InputError("peek needs int32 / int64 arrays of 32 * chunks entries");
                 d.peek(slots.data(), positions.data());
             },
             "slots"_a.noconvert(), "positions"_a.noconvert())
        .def("advance",
             [](lce::cuda::IntervalStepDecoder& d, CI32 starts, CI32 freqs) {
                 if (starts.shape(0) != 32 * d.chunks() || freqs.shape(0) != 32 * d.chunks())
                     throw lce::InputError("advance needs int32 arrays of 32 * chunks entries");
                 d.advance(starts.data(), freqs.data());
             },
             "starts"_a.noconvert(), "freqs"_a.noconvert())
        .def("verify", &lce::cuda::IntervalStepDecoder::verify)
        .def_prop_ro("chunks", &lce::cuda::IntervalStepDecoder::chunks)
        .def_prop_ro("rounds", &lce::cuda::IntervalStepDecoder::rounds)
        .def_prop_ro("round", &lce::cuda::IntervalStepDecoder::round)
        .def_prop_ro("precision", &lce::cuda::IntervalStepDecoder::precision)
        .def("__len__", &lce::cuda::IntervalStepDecoder::size);
    m.attr("CUDA") = true;
#else
    m.attr("CUDA") = false;
#endif
}
