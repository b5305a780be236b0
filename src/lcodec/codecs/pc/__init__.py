"""Lossless probabilistic-circuit (HCLT) coder for small grayscale images (issue 7).

codec.py: bitstream glue (numpy + the C++ kernel, no torch); weights.py: model files;
structure.py: Chow-Liu tree and coding order; model.py: the circuit in torch (training);
train.py: ``lcodec train pc``; data.py: the offline data sets; csrc/: the fixed-point kernel.
"""
