"""Official latent edits (README §5.9): InterFaceGAN and GANSpace on a batch of W+ codes."""

import pytest

from styleheat_core.editing.directions import GanspacePCA, edit_latent
from tests.support.golden import GoldenCase

pytestmark = pytest.mark.golden


def test_official_edits():
    case = GoldenCase.load("editing")
    interfacegan = {"age": case.input("in.age_direction"), "pose": case.input("in.pose_direction")}
    pca = GanspacePCA(case.input("in.ganspace_mean"), case.input("in.ganspace_comp"), case.input("in.ganspace_std"))
    w_plus = case.input("in.w_plus")
    outputs = {edit["output"]: edit_latent(w_plus, edit["choice"], edit["factor"], interfacegan, pca) for edit in case.notes["edits"]}
    case.check_all(outputs)
