"""StyleHEAT models, preprocessing and pipeline, importable without ComfyUI."""
