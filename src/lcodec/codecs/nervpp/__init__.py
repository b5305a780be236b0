"""NeRV++: an enhanced implicit neural video representation, with a real bitstream."""
