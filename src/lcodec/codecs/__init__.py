"""Codec plugins: one folder per codec; the contract lives in :mod:`lcodec.codecs.base`."""
