"""Latent and 3DMM editing, optimisation-based inversion."""
