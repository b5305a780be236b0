"""Shared machinery of the overfitted video INR codecs (HNeRV, NeRV++).

Encoding a video means fitting a small network to it; the bitstream is the network's quantised,
entropy-coded weights (plus per-frame embeddings for HNeRV). What lives here is what every INR
codec needs: the time/epoch budget and its cosine schedule, the stride plan that fits any frame
size, per-channel weight quantisation, and the weight bitstream.
"""
