"""68-point face landmarks behind a small backend interface, with an offline dlib backend.

The dlib backend uses the HOG face detector built into `dlib-bin` and the 68-point shape
predictor shipped by the `face-recognition-models` package. That package imports the removed
`pkg_resources` in its `__init__`, so its files are located without importing it.
Points are (x, y) in pixels with pixel centres at integer coordinates, iBUG 68 order.
"""

from __future__ import annotations

import copy
import importlib.metadata
import importlib.util
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache, partial
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator, Protocol

import cv2
import numpy as np

from .images import to_rgb_uint8

NUM_POINTS = 68
MODELS_PACKAGE = "face_recognition_models"
PREDICTOR_68 = "shape_predictor_68_face_landmarks.dat"
CNN_DETECTOR = "mmod_human_face_detector.dat"
ON_MISSING = ("error", "carry_last")
MAX_DETECT_THREADS = 8
# A video's later frames are searched on a copy where its first frame's face is this wide. dlib's HOG detector scans
# 80-pixel windows over an image pyramid, so a face that shrinks to half of it is still found, and a face is always
# detected at the pyramid level where it is about 80 pixels wide, whatever the copy's size (the CNN detector finds
# smaller faces than that).
VIDEO_FACE_WIDTH = 160


@dataclass(frozen=True)
class Face:
    """One detected face: box [left, top, right, bottom] in pixels and its (68, 2) float64 landmarks."""

    box: tuple[float, float, float, float]
    points: np.ndarray

    @property
    def width(self) -> float:
        return max(self.box[2] - self.box[0], 0.0)

    @property
    def area(self) -> float:
        return self.width * max(self.box[3] - self.box[1], 0.0)


class LandmarkBackend(Protocol):
    """Anything that finds faces with 68 landmarks in an HxWx3 uint8 RGB image.

    A backend whose `detect` may run on several frames at once, from threads, says how many in an
    attribute `detect_threads` (without it, frames are detected one at a time). A backend that can search
    a video's later frames faster once it knows the face's size has a method
    `detect_sized(image, face_width, count)`: the faces of an image whose wanted face is about `face_width`
    pixels wide, at least `count` of them where the image has that many.
    """

    @property
    def identity(self) -> str:
        """A string naming the detector and its weights (part of cache keys)."""

    def detect(self, image: np.ndarray) -> list[Face]:
        """Every face found, in any order."""


class NoFaceError(ValueError):
    """No face was found where one is needed."""


def dlib_model_dir() -> Path:
    """The `models` folder of the installed face-recognition-models package, found without importing it."""
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "models"
            if (candidate / PREDICTOR_68).is_file():
                return candidate
    try:
        files = importlib.metadata.files("face_recognition_models") or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == PREDICTOR_68:
            return Path(file.locate()).parent
    raise FileNotFoundError(
        f"the dlib landmark model {PREDICTOR_68} was not found; install it with `pip install face-recognition-models` "
        "or pass predictor_path= to DlibBackend"
    )


class DlibBackend:
    """dlib face detector (HOG, or the CNN 'mmod' model) + the 68-point shape predictor.

    Detection runs on a copy resized so the longer side is at most `max_detect_side` and the shorter
    side at least `min_detect_side` (small faces are found by upscaling); landmarks use the full image.
    """

    def __init__(
        self,
        predictor_path: str | Path | None = None,
        detector: str = "hog",
        max_detect_side: int = 1024,
        min_detect_side: int = 320,
    ):
        import dlib

        if detector not in ("hog", "cnn"):
            raise ValueError(f"detector must be 'hog' or 'cnn'; got '{detector}'")
        path = Path(predictor_path) if predictor_path else dlib_model_dir() / PREDICTOR_68
        if not path.is_file():
            raise FileNotFoundError(f"68-point predictor not found at '{path}'")
        self._dlib = dlib
        self._predictor = dlib.shape_predictor(str(path))
        cnn = detector == "cnn"
        self._cnn_detector = dlib.cnn_face_detection_model_v1(str(dlib_model_dir() / CNN_DETECTOR)) if cnn else None
        self._hog_lock = threading.Lock()
        self._hog_original = None
        self._per_thread = threading.local()
        self._max_side, self._min_side = max_detect_side, min_detect_side
        self.identity = f"dlib-{detector}:{path.name}:{path.stat().st_size}:video-face-{VIDEO_FACE_WIDTH}"
        # dlib releases the GIL while it detects, so a video's frames are detected on every core at once. Its HOG
        # detector keeps scratch buffers (concurrent calls miss faces), so each thread gets its own; the shape
        # predictor is safe to share. The CNN detector runs one frame at a time.
        self.detect_threads = 1 if cnn else max(1, min(MAX_DETECT_THREADS, os.cpu_count() or 1))

    def _thread_hog(self):
        """This thread's HOG detector: a copy of the backend's one (dlib builds one in about 0.5 s, copies it in 2 ms)."""
        if not hasattr(self._per_thread, "hog"):
            with self._hog_lock:
                if self._hog_original is None:
                    self._hog_original = self._dlib.get_frontal_face_detector()
                self._per_thread.hog = copy.deepcopy(self._hog_original)
        return self._per_thread.hog

    def _detections(self, image: np.ndarray) -> list:
        """dlib's face rectangles in `image`, without upsampling, by this thread's own HOG detector (or the CNN one)."""
        if self._cnn_detector is not None:
            return [detection.rect for detection in self._cnn_detector(image, 0)]
        return list(self._thread_hog()(image, 0))

    def _detection_scale(self, height: int, width: int) -> float:
        scale = min(1.0, self._max_side / max(height, width))
        return max(scale, self._min_side / min(height, width))

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in an HxWx3 uint8 RGB image."""
        return self._detect_at(image, self._detection_scale(*image.shape[:2]))

    def detect_sized(self, image: np.ndarray, face_width: float, count: int = 1) -> list[Face]:
        """Faces in a video frame whose wanted face is about `face_width` pixels wide (as in the video's first frame).

        The detector looks on a copy where that face is VIDEO_FACE_WIDTH pixels wide, when that copy is smaller
        than `detect`'s (a 512² talking-head frame: a quarter of the pixels, 3-4x faster). Faces under about half
        that width may be missed there; where the copy yields fewer than `count` faces, the frame is searched again
        as `detect` does, so the faces ranked up to `count` are those `detect` would rank there.
        """
        scale = self._detection_scale(*image.shape[:2])
        if face_width > 0 and VIDEO_FACE_WIDTH / face_width < scale:
            faces = self._detect_at(image, VIDEO_FACE_WIDTH / face_width)
            if len(faces) >= count:
                return faces
        return self._detect_at(image, scale)

    def _detect_at(self, image: np.ndarray, scale: float) -> list[Face]:
        """Faces found on `image` resized by `scale`, with landmarks from the full image."""
        height, width = image.shape[:2]
        small = image
        if scale != 1.0:
            interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
            small = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=interpolation)
        faces = []
        for rect in self._detections(small):
            box = tuple(float(v) / scale for v in (rect.left(), rect.top(), rect.right(), rect.bottom()))
            full = self._dlib.rectangle(*(int(round(v)) for v in box))
            shape = self._predictor(image, full)
            points = np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)
            faces.append(Face(box, points))
        return faces


@lru_cache(maxsize=1)
def default_backend() -> DlibBackend:
    """A shared DlibBackend with the packaged weights (loaded once)."""
    return DlibBackend()


def _where(frame_index: int | None) -> str:
    return "the image" if frame_index is None else f"frame {frame_index}"


def pick_face(faces: list[Face], face_index: int = 0, frame_index: int | None = None) -> Face:
    """The face at `face_index` when faces are ordered largest first (0 = the largest)."""
    if not faces:
        raise NoFaceError(f"no face found in {_where(frame_index)}; use a clearer, frontal, larger face (or on_missing='carry_last' for videos)")
    if not 0 <= face_index < len(faces):
        raise ValueError(f"face_index {face_index} requested but {_where(frame_index)} has {len(faces)} face(s); use 0..{len(faces) - 1}")
    return sorted(faces, key=lambda face: face.area, reverse=True)[face_index]


def detect_landmarks(
    image: np.ndarray, backend: LandmarkBackend | None = None, face_index: int = 0, frame_index: int | None = None
) -> np.ndarray:
    """(68, 2) landmarks of one face (largest by default) in any supported image layout."""
    backend = backend or default_backend()
    return pick_face(backend.detect(to_rgb_uint8(image)), face_index, frame_index).points


@dataclass
class TrackedFrame:
    """A frame (HxWx3 uint8 RGB), its landmarks, and whether they were detected in it (False = carried)."""

    index: int
    image: np.ndarray
    points: np.ndarray
    detected: bool


def _detected(frames: Iterable[np.ndarray], backend: LandmarkBackend, face_index: int) -> Iterator[tuple[np.ndarray, list[Face]]]:
    """(RGB uint8 image, its faces) for every frame, in order.

    The first frame is detected alone. When it has the wanted face and the backend has `detect_sized`, the later
    frames are searched for a face of that size (what any frame finds depends only on it and the first frame, not
    on threads). With a backend's `detect_threads` > 1, the frames are detected that many at a time in threads,
    and the next group is detected while the consumer works on this one (crops it, decodes the group after): two
    groups of frames are read ahead, no more.
    """
    images = (to_rgb_uint8(frame, f"frame {index}") for index, frame in enumerate(frames))
    first = next(images, None)
    if first is None:
        return
    faces = backend.detect(first)
    yield first, faces
    detect = backend.detect
    if hasattr(backend, "detect_sized") and len(faces) > face_index:
        detect = partial(backend.detect_sized, face_width=pick_face(faces, face_index).width, count=face_index + 1)
    threads = getattr(backend, "detect_threads", 1)
    if threads <= 1:
        yield from ((image, detect(image)) for image in images)
        return
    with ThreadPoolExecutor(threads, thread_name_prefix="styleheat-landmarks") as pool:

        def submitted() -> list[tuple[np.ndarray, Future]]:
            return [(image, pool.submit(detect, image)) for image in islice(images, threads)]

        group = submitted()
        while group:
            following = submitted()
            yield from ((image, future.result()) for image, future in group)
            group = following


def iter_landmarks(
    frames: Iterable[np.ndarray], backend: LandmarkBackend | None = None, face_index: int = 0, on_missing: str = "error"
) -> Iterator[TrackedFrame]:
    """Landmarks for every frame, in order.

    on_missing='error' raises NoFaceError naming the first frame without a face; 'carry_last' reuses the
    last good landmarks (frames before the first detection take the first good ones, so those
    frames are held until a face appears).
    """
    if on_missing not in ON_MISSING:
        raise ValueError(f"on_missing must be one of {ON_MISSING}; got '{on_missing}'")
    backend = backend or default_backend()
    waiting: list[tuple[int, np.ndarray]] = []
    last: np.ndarray | None = None
    count = 0
    for index, (image, faces) in enumerate(_detected(frames, backend, face_index)):
        count += 1
        if not faces and on_missing == "carry_last":
            if last is None:
                waiting.append((index, image))
            else:
                yield TrackedFrame(index, image, last, False)
            continue
        last = pick_face(faces, face_index, index).points
        for held_index, held in waiting:
            yield TrackedFrame(held_index, held, last, False)
        waiting.clear()
        yield TrackedFrame(index, image, last, True)
    if count == 0:
        raise ValueError("the video has no frames")
    if last is None:
        raise NoFaceError(f"no face found in any of the {count} frames; check the video shows a face")
