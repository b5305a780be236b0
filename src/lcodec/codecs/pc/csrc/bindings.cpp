// nanobind module lcodec.codecs.pc._pc: the fixed-point HCLT kernel (hclt.hpp).
// Arrays arrive as numpy buffers without copies; shapes and dtypes are checked by codecs/pc/kernel.py.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>

#include "hclt.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

template <class T, size_t N>
using In = nb::ndarray<const T, nb::ndim<N>, nb::c_contig, nb::device::cpu>;
using U32Out = nb::ndarray<uint32_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using U16Out = nb::ndarray<uint16_t, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

void check_out(const U32Out& a, const U32Out& b, size_t n) {
    if (a.shape(0) != n || b.shape(0) != n) throw pc::InputError("output arrays must hold one entry per symbol");
}

template <class T>
void encode(const pc::Model& m, In<T, 2> pixels, U32Out starts, U32Out freqs, bool naive) {
    if (pixels.shape(1) != (size_t)m.D) throw pc::InputError("pixels must be [N, D] in coding order");
    const int64_t N = (int64_t)pixels.shape(0);
    check_out(starts, freqs, (size_t)N * m.D);
    nb::gil_scoped_release release;
    if (naive)
        m.naive_intervals(pixels.data(), N, starts.data(), freqs.data());
    else
        m.encode(pixels.data(), N, starts.data(), freqs.data());
}

}  // namespace

NB_MODULE(_pc, m) {
    nb::register_exception_translator([](const std::exception_ptr& p, void*) {
        try {
            std::rethrow_exception(p);
        } catch (const pc::InputError& e) {
            PyErr_SetString(PyExc_ValueError, e.what());
        }
    });

    nb::class_<pc::Model>(m, "Model")
        .def(
            "__init__",
            [](pc::Model* self, In<int32_t, 1> parent, In<uint16_t, 1> prior, In<uint16_t, 3> trans,
               In<uint16_t, 3> emit, In<int32_t, 1> emit_of, int precision) {
                const size_t D = parent.shape(0), K = prior.shape(0), B = emit.shape(0), V = emit.shape(1);
                if (trans.shape(0) != D || trans.shape(1) != K || trans.shape(2) != K || emit.shape(2) != K ||
                    emit_of.shape(0) != D)
                    throw pc::InputError("HCLT arrays disagree: need parent [D], prior [K], trans [D, K, K], "
                                         "emit [B, V, K], emit_of [D]");
                new (self) pc::Model((int)D, (int)K, (int)V, (int)B, parent.data(), prior.data(), trans.data(),
                                     emit.data(), emit_of.data(), precision);
            },
            "parent"_a.noconvert(), "prior"_a.noconvert(), "trans"_a.noconvert(), "emit"_a.noconvert(),
            "emit_of"_a.noconvert(), "precision"_a)
        .def_ro("D", &pc::Model::D)
        .def_ro("K", &pc::Model::K)
        .def_ro("V", &pc::Model::V)
        .def_ro("precision", &pc::Model::precision)
        .def("encode", &encode<uint8_t>, "pixels"_a.noconvert(), "starts"_a.noconvert(), "freqs"_a.noconvert(),
             "naive"_a = false)
        .def("encode", &encode<uint16_t>, "pixels"_a.noconvert(), "starts"_a.noconvert(), "freqs"_a.noconvert(),
             "naive"_a = false);

    nb::class_<pc::Decoder>(m, "Decoder")
        .def(nb::init<const pc::Model&, int64_t>(), "model"_a, "n"_a, nb::keep_alive<1, 2>())
        .def(
            "step",
            [](pc::Decoder& d, In<uint32_t, 1> slots, U32Out starts, U32Out freqs) {
                check_out(starts, freqs, slots.shape(0));
                d.step(slots.data(), slots.shape(0), starts.data(), freqs.data());
            },
            "slots"_a.noconvert(), "starts"_a.noconvert(), "freqs"_a.noconvert())
        .def_prop_ro("position", &pc::Decoder::position)
        .def("__len__", &pc::Decoder::size)
        .def("pixels", [](const pc::Decoder& d, U16Out out) {
            if (out.shape(0) * out.shape(1) != d.pixels().size()) throw pc::InputError("pixels: need [N, D] uint16");
            std::copy(d.pixels().begin(), d.pixels().end(), out.data());
        });
}
