"""HNeRV: hybrid neural representation for videos (Chen et al., CVPR 2023), with a real bitstream."""
