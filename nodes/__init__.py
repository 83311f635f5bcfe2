"""ComfyUI node classes: thin adapters from ComfyUI types to styleheat_core.

Node ids and the order of their widgets are public API (saved workflows refer to them): only append.
"""

from . import audio, comfy, edit, faces, invert, loaders, metrics, motion, motion_controls, preview, render, render_video
from .validation import guard_numbers

comfy.register_model_folder()

_NODES = {
    **loaders.NODES,
    **faces.NODES,
    **invert.NODES,
    **motion.NODES,
    **motion_controls.NODES,
    **render.NODES,
    **render_video.NODES,
    **preview.NODES,
    **edit.NODES,
    **audio.NODES,
    **metrics.NODES,
}
for _cls, _name in _NODES.values():
    guard_numbers(_cls, _name)

NODE_CLASS_MAPPINGS: dict[str, type] = {node_id: cls for node_id, (cls, _) in _NODES.items()}
NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {node_id: name for node_id, (_, name) in _NODES.items()}
