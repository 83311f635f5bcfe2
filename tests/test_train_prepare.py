"""Training-data preparation: synthetic clips with known motion (fake detector/3DMM), resume, failures; one real clip."""

import numpy as np
import pytest

from styleheat_core.train.prepare import PrepareOptions, deep3d_coefficients, prepare_dataset
from styleheat_core.train.shards import Manifest, open_shard
from tests.support.clips import cut_clip
from tests.support.preprocess import TALKING_VIDEO, needs_media, recipe_deep3d, standard_lm3d_5
from tests.support.train_fakes import DrawnFaceBackend, landmark_coefficients, synthetic_videos

OPTIONS = PrepareOptions(128, aligned=True, test_fraction=0.25)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    root = tmp_path_factory.mktemp("prep")
    known = synthetic_videos(root / "videos")
    manifest = prepare_dataset(root / "videos", root / "data", landmark_coefficients, OPTIONS, DrawnFaceBackend(), progress=False)
    return root, known, manifest


def test_videos_are_split_by_identity_and_failures_are_recorded(prepared):
    root, known, manifest = prepared
    assert set(manifest.ready("train")) | set(manifest.ready("test")) == set(known)
    assert len(manifest.ready("test")) == 1 and len(manifest.ready("train")) == 3
    failed = {k: v.reason for k, v in Manifest.load(root / "data").videos.items() if v.status == "failed"}
    assert set(failed) == {"dora#broken", "erin#blank"}
    assert "cannot be read as a video" in failed["dora#broken"] and "no face" in failed["erin#blank"]


def test_shards_hold_crops_aligned_copies_known_motion_and_mel(prepared):
    root, known, manifest = prepared
    record = manifest.videos["anna#talk"]
    shard = open_shard(str(root / "data" / record.shard))
    assert record.frames == 20 and shard.image("frames", 5).shape == (128, 128, 3) and shard.image("aligned", 19).shape == (128, 128, 3)
    mouth = [m[2] for m in known["anna#talk"]]
    assert np.corrcoef(shard.array("semantics")[:, 0].numpy(), mouth)[0, 1] > 0.95
    landmarks = shard.array("landmarks")
    assert landmarks.shape == (20, 68, 2) and float(landmarks.min()) > 0 and float(landmarks.max()) < 128
    assert shard.array("mel").shape[0] == 80


def test_rerun_skips_finished_and_failed_videos(prepared):
    root, _, _ = prepared
    calls = []

    def counting(frames, landmarks):
        calls.append(len(frames))
        return landmark_coefficients(frames, landmarks)

    prepare_dataset(root / "videos", root / "data", counting, OPTIONS, DrawnFaceBackend(), progress=False)
    assert calls == []
    with pytest.raises(ValueError, match="prepared with"):
        prepare_dataset(root / "videos", root / "data", counting, PrepareOptions(256), DrawnFaceBackend(), progress=False)


@needs_media
def test_real_clip_goes_through_dlib_and_deep3d(tmp_path):
    (tmp_path / "videos" / "katie").mkdir(parents=True)
    cut_clip(TALKING_VIDEO, tmp_path / "videos" / "katie" / "clip.mp4", frames=6)
    coefficients = deep3d_coefficients(recipe_deep3d(), standard_lm3d_5())
    manifest = prepare_dataset(tmp_path / "videos", tmp_path / "data", coefficients, PrepareOptions(512, test_fraction=0), progress=False)
    record = manifest.videos["katie#clip"]
    assert record.status == "ok", record.reason
    shard = open_shard(str(tmp_path / "data" / record.shard))
    semantics = shard.array("semantics")
    assert semantics.shape == (6, 73) and bool(semantics.isfinite().all())
    landmarks = shard.array("landmarks")
    assert float(landmarks.min()) > 0 and float(landmarks.max()) < 512
    assert shard.image("frames", 0).shape == (512, 512, 3) and shard.image("aligned", 5).shape == (512, 512, 3)
    assert shard.array("mel").shape[0] == 80
