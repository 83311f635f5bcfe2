"""The README's main job (scripts/run_main_job.py): portrait + driving video -> an mp4, through a real ComfyUI."""

import av
import pytest

from scripts.run_main_job import run
from tests.support.clips import cut_clip
from tests.support.model_folder import recipe_model_folder
from tests.support.preprocess import MEDIA_DIR, PORTRAIT, TALKING_VIDEO

pytestmark = [pytest.mark.media, pytest.mark.skipif(not MEDIA_DIR.is_dir(), reason=f"real media folder {MEDIA_DIR} is absent")]


def test_main_job_writes_a_talking_video_with_sound(tmp_path):
    clip = cut_clip(TALKING_VIDEO, tmp_path / "clip.mp4", 2)
    out = run(PORTRAIT, clip, tmp_path / "result" / "talking.mp4", recipe_model_folder(), size="256", port=8197)
    with av.open(str(out)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        assert container.streams.audio
    assert len(frames) == 2
    assert frames[0].shape[:2] == (896, 640)  # pasted back into the full-size portrait


def test_main_job_names_a_missing_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="driving video"):
        run(PORTRAIT, tmp_path / "missing.mp4", tmp_path / "out.mp4", tmp_path)
