"""Classic codecs as plugins: the baselines every rate-distortion report needs.

Stills through pillow (png, jpeg, webp, avif), video and audio through ffmpeg via PyAV (x264,
x265, svtav1, vp9; opus, mp3, flac). Each stores the real codec's bytes in ``.lc`` chunks, so a
payload can be checked byte for byte against the library called directly. Modules are imported
on first use by :mod:`lcodec.registry`.
"""
