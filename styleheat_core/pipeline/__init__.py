"""Chunked, lazy per-frame evaluation."""
