"""Faces, alignment, cropping and 3DMM coefficients."""
