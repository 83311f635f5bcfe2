"""The evaluation report: a terminal table, JSON and CSV (written atomically)."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from .metrics import ClipScores, MetricValue

LABELS = {"psnr": "PSNR ↑", "ssim": "SSIM ↑", "lpips": "LPIPS ↓", "fid": "FID ↓", "csim": "CSIM ↑", "aed": "AED ↓", "apd": "APD ↓"}
# StyleHEAT (ECCV 2022), Table 1, same-identity reenactment on HDTF.
PAPER_SAME_ID = {"fid": 18.02, "lpips": 0.1729, "psnr": 31.21, "ssim": 0.6019, "csim": 0.7475}


@dataclass
class Report:
    """What was measured, how, and the results overall and per clip."""

    protocol: str
    settings: dict
    overall: dict[str, MetricValue]
    clips: dict[str, ClipScores]
    note: str = ""

    @property
    def paper(self) -> dict[str, float]:
        return PAPER_SAME_ID if self.protocol == "same-id" else {}


def _number(value: float) -> float | str | None:
    """JSON has no inf/NaN: inf (identical frames' PSNR) becomes the string 'inf', NaN (not measured) null."""
    if math.isnan(value):
        return None
    return value if math.isfinite(value) else ("inf" if value > 0 else "-inf")


def _cell(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.4f}"


def table(report: Report) -> str:
    """The overall results as an aligned text table (with the paper's numbers for same-id)."""
    rows = [("metric", "value", "frames", "paper")]
    for name, metric in report.overall.items():
        paper = report.paper.get(name)
        rows.append((LABELS[name], _cell(metric.value), str(metric.frames), "" if paper is None else f"{paper:g}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    header = f"{report.protocol}: {len(report.clips)} clip(s), {sum(c.frames for c in report.clips.values())} frame(s)"
    return "\n".join([header, *lines] + ([report.note] if report.note else []))


def as_json(report: Report) -> dict:
    """The report as JSON-ready data."""
    return {
        "protocol": report.protocol,
        "settings": report.settings,
        "metrics": {
            name: {"value": _number(m.value), "frames": m.frames, **({"paper": report.paper[name]} if name in report.paper else {})}
            for name, m in report.overall.items()
        },
        "clips": [{"clip": clip, "frames": s.frames, **{k: _number(v) for k, v in s.means().items()}} for clip, s in report.clips.items()],
        "note": report.note,
    }


def as_csv(report: Report) -> str:
    """One row per clip (per-frame metrics averaged over the clip), then the pooled row 'all' (with FID)."""
    names = list(report.overall)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["clip", "frames", *names])
    for clip, scores in report.clips.items():
        means = scores.means()
        writer.writerow([clip, scores.frames, *(_csv_value(means.get(name, math.nan)) for name in names)])
    writer.writerow(["all", sum(c.frames for c in report.clips.values()), *(_csv_value(report.overall[name].value) for name in names)])
    return buffer.getvalue()


def _csv_value(value: float) -> str:
    return "" if math.isnan(value) else repr(value)


def write_text(path: Path, text: str) -> None:
    """Write through a temporary file, then rename, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_report(report: Report, out_dir: Path) -> tuple[Path, Path]:
    """report.json and report.csv in `out_dir`."""
    json_path, csv_path = Path(out_dir) / "report.json", Path(out_dir) / "report.csv"
    write_text(json_path, json.dumps(as_json(report), indent=1, allow_nan=False) + "\n")
    write_text(csv_path, as_csv(report))
    return json_path, csv_path
