// nanobind module lcodec.entropy._core: the compiled entropy-coding engine.
#include <nanobind/nanobind.h>

namespace nb = nanobind;

NB_MODULE(_core, m) {
    m.doc() = "lcodec entropy-coding core (C++17)";
    m.attr("FORMAT") = "rans32x32-v1";
}
