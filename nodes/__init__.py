"""ComfyUI node classes: thin adapters from ComfyUI types to styleheat_core."""

NODE_CLASS_MAPPINGS: dict[str, type] = {}
NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {}
