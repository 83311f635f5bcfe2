"""ComfyUI node classes: thin adapters from ComfyUI types to styleheat_core.

Node ids and the order of their widgets are public API (saved workflows refer to them): only append.
"""

from . import audio, comfy, edit, faces, invert, loaders, motion, render, render_video

comfy.register_model_folder()

_NODES = {**loaders.NODES, **faces.NODES, **invert.NODES, **motion.NODES, **render.NODES, **render_video.NODES, **edit.NODES, **audio.NODES}

NODE_CLASS_MAPPINGS: dict[str, type] = {node_id: cls for node_id, (cls, _) in _NODES.items()}
NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {node_id: name for node_id, (_, name) in _NODES.items()}
