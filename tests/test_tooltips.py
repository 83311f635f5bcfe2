"""Every input and output of every node has a tooltip (the frontend shows it on hover)."""

from tests.support.pack import pack


def _untipped(node_id: str) -> list[str]:
    """'input name' / 'output name' of each socket or widget of a node that has no tooltip."""
    cls = pack().NODE_CLASS_MAPPINGS[node_id]
    spec = cls.INPUT_TYPES()
    missing = [
        f"input {name}"
        for section in ("required", "optional")
        for name, entry in spec.get(section, {}).items()
        if not (len(entry) > 1 and isinstance(entry[1], dict) and str(entry[1].get("tooltip", "")).strip())
    ]
    tips = getattr(cls, "OUTPUT_TOOLTIPS", ())
    names = getattr(cls, "RETURN_NAMES", cls.RETURN_TYPES)
    missing += [f"output {name}" for index, name in enumerate(names) if index >= len(tips) or not str(tips[index]).strip()]
    return missing


def test_every_input_and_output_of_every_node_has_a_tooltip():
    missing = {node_id: _untipped(node_id) for node_id in pack().NODE_CLASS_MAPPINGS}
    assert {node_id: names for node_id, names in missing.items() if names} == {}
