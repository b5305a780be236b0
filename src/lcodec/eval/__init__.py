"""Evaluation: quality metrics, rate–distortion sweeps and reports (DESIGN.md §5)."""
