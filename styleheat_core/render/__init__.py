"""Headless rendering without ComfyUI: `python -m styleheat_core.render --help`."""
