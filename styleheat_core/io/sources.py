"""Where each official checkpoint file can be downloaded: `OFFICIAL_FILES` key -> `Source`.

URLs are tried in order (a 404 moves on to the next mirror). `size` and `sha256` describe what the
URL serves (the archive, for zipped assets) and stay None where they are not known.
"""

from __future__ import annotations

from dataclasses import dataclass

STYLEHEAT = "https://github.com/FeiiYin/StyleHEAT/releases/download/styleheat/"
SADTALKER = "https://github.com/OpenTalker/SadTalker/releases/download/"
STYLEHEAT_REPO_FILE = "https://raw.githubusercontent.com/{}/StyleHEAT/HEAD/docs/demo/intuitive_edit/expression.pth"
INTERFACEGAN_ZIP = "interfacegan_directions-20230323T133213Z-001.zip"


@dataclass(frozen=True)
class Source:
    """Download URLs of one official file; `member` names the file inside the zip archive the URLs serve."""

    urls: tuple[str, ...]
    size: int | None = None
    sha256: str | None = None
    member: str | None = None

    @property
    def archive_name(self) -> str | None:
        """The archive's file name when the URLs serve a zip archive, else None."""
        return self.urls[0].rsplit("/", 1)[-1] if self.member else None


SOURCES: dict[str, Source] = {
    "stylegan": Source((STYLEHEAT + "StyleGAN_e4e.pth",)),
    "e4e": Source((STYLEHEAT + "Encoder_e4e.pth",)),
    "hfgi": Source((STYLEHEAT + "hfgi.pth",)),
    "styleheat": Source((STYLEHEAT + "StyleHEAT_visual.pt",)),
    "deep3d": Source((STYLEHEAT + "epoch_20.pth", SADTALKER + "v0.0.1/epoch_20.pth")),
    "discriminator": Source((STYLEHEAT + "stylegan2_d_256.pth",)),
    "vgg19": Source(("https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",)),
    "interfacegan_age": Source((STYLEHEAT + INTERFACEGAN_ZIP,), member="age.pt"),
    "interfacegan_pose": Source((STYLEHEAT + INTERFACEGAN_ZIP,), member="pose.pt"),
    "ganspace": Source((STYLEHEAT + "ffhq_pca.pt",)),
    "wplus_pca": Source((STYLEHEAT + "ffhq_PCA.npz",)),
    "expression_presets": Source(
        (STYLEHEAT_REPO_FILE.format("OpenTalker"), STYLEHEAT_REPO_FILE.format("FeiiYin")),
        size=2707,
        sha256="79ea31c15f36fe2377df5ea7e5de708e146ff38d8017a5fb462294d233f76161",
    ),
    "bfm_landmarks": Source((SADTALKER + "v0.0.1/BFM_Fitting.zip", SADTALKER + "v0.0.2/BFM_Fitting.zip"), member="similarity_Lm3D_all.mat"),
    "sadtalker_256": Source((SADTALKER + "v0.0.2-rc/SadTalker_V0.0.2_256.safetensors",)),
    "sadtalker_512": Source((SADTALKER + "v0.0.2-rc/SadTalker_V0.0.2_512.safetensors",)),
    "sadtalker_audio2exp": Source((SADTALKER + "v0.0.1/auido2exp_00300-model.pth", SADTALKER + "v0.0.2-rc/auido2exp_00300-model.pth")),
    "sadtalker_audio2pose": Source((SADTALKER + "v0.0.1/auido2pose_00140-model.pth", SADTALKER + "v0.0.2-rc/auido2pose_00140-model.pth")),
    "metric_alexnet": Source(("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",)),
    "metric_lpips_alex": Source(
        ("https://raw.githubusercontent.com/richzhang/PerceptualSimilarity/master/lpips/weights/v0.1/alex.pth",),
        size=6009,
        sha256="df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0",
    ),
    "metric_fid_inception": Source(("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",)),
    "metric_arcface": Source((STYLEHEAT + "model_ir_se50.pth",)),
}
