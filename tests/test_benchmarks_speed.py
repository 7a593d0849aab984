"""The speed benchmark runs end to end in its quick form and prints every table."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "speed.py"

#: The start of a row of every table the benchmark prints.
ROWS = (
    "| CPU |",
    "| avx512_bf16 |",
    "| OMP_WAIT_POLICY |",
    "| fp32 matmul 1024² (GFLOP/s) | none |",
    "| bf16 matmul 1024² (GFLOP/s) | 1 busy process |",
    "| bf16/fp32 matmul | none |",
    "| spline_upsample (samples/s;",
    "| tiny | 1 | none |",
    "| small | 1 | 1 busy process |",
    "| tiny | TFiLM | 1 |",
    "| small | Conv | 1 |",
    "| tiny | none |",  # thread policy
    "| tiny | 1 busy process |",
    "| tiny | 2 | 1 busy process |",  # wait policy
    "| tiny | 0.050 | 1 | none |",
    "| small | 0.500 | auto | 1 busy process |",
    "| tiny | 1 | none | 0.5 min / 0.05 min |",
    "kept: the engine's heap policy",
    "| tfilm |",
    "| smallcnn |",
    "| lstm |",
    "| tfilm, convolutions free |",  # floors
    "| paper, TFiLM |",
)


@pytest.mark.slow
@pytest.mark.skipif(not SCRIPT.exists(), reason="benchmarks/ is not part of this installation")
def test_quick_run_prints_every_table(tmp_path: Path) -> None:
    out = tmp_path / "speed.csv"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    for start in ROWS:
        assert any(line.startswith(start) for line in lines), (start, done.stdout[-3000:])
    # The ratio columns hold numbers.
    row = next(line for line in lines if line.startswith("| small | 1 | none |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert float(cells[5]) > 0  # TFiLM/Conv
    with out.open(newline="") as handle:
        records = list(csv.DictReader(handle))
    sections = {r["section"] for r in records}
    expected = {"machine", "ceilings", "training", "threads", "wait policy", "precision"}
    assert expected | {"inference", "heap", "text", "floors"} <= sections
    kept = [float(r["value"]) for r in records if r["item"] == "RTF kept/system"]
    assert kept and all(v > 0 for v in kept)
    assert any(r["item"] == "TFiLM/Conv (best)" for r in records)
    # The floors: every part is timed; one pass over the activations is a small part of
    # what the layers cost (under 1 % of the Conv step against 10 to 50 % in every run).
    floors = {
        (r["item"], r["setting"]): float(r["value"]) for r in records if r["section"] == "floors"
    }
    for size in ("tiny", "small"):
        setting = f"size={size}, threads=1"
        layers = floors["TFiLM layers (s)", setting]
        assert 0 < floors["one pass (s)", setting] < layers
        assert floors["RNNs (s)", setting] > 0
    assert any(r["item"] == "text step / smallcnn" for r in records)
