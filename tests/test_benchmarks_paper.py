"""The paper's experiments script: its statistics, and a quick run of every experiment."""

from __future__ import annotations

import csv
import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "paper.py"
pytestmark = pytest.mark.skipif(
    not SCRIPT.exists(), reason="benchmarks/ is not part of this installation"
)

#: Per experiment: the models and settings its CSV must hold (for every seed).
EXPECTED = {
    "sr": (
        {"cubic spline", "DNN", "Conv", "TFiLM"},
        {"speech r=2", "speech r=4", "piano r=2", "piano r=4"},
    ),
    "bilstm": (
        {"TFiLM (LSTM)", "TFiLM (BiLSTM)"},
        {"speech r=2", "speech r=4", "piano r=2", "piano r=4"},
    ),
    "lowpass": (
        {"TFiLM", "cubic spline"},
        {
            "train LPF, test LPF",
            "train LPF, test no LPF",
            "train no LPF, test LPF",
            "train no LPF, test no LPF",
        },
    ),
    "ood": (
        {"TFiLM", "cubic spline"},
        {
            "train piano, test piano",
            "train piano, test speech",
            "train speech, test piano",
            "train speech, test speech",
        },
    ),
    "ablation": ({"full", "no residual", "no skip"}, {"speech r=4"}),
    "recipe": (
        {"shipped recipe", "learning rate 3e-3", "blocks of 64", "cubic spline"},
        {"speech r=4, voice ru_RU_f_IvrvoiceRU"},
    ),
}
QUICK_SEEDS = {"0", "1"}
MEAN_STD = re.compile(r"-?\d+\.\d\d ± \d+\.\d\d")


def load_script() -> ModuleType:
    name = "tsfilm_benchmarks_paper"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        path = list(sys.path)
        try:
            spec.loader.exec_module(module)  # puts benchmarks/ on sys.path for its imports
        finally:
            sys.path[:] = path
    return sys.modules[name]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_summary_and_ties() -> None:
    paper = load_script()
    summary = paper.summarise([1.0, 2.0, 3.0])
    assert (summary.mean, summary.std, summary.n) == (2.0, 1.0, 3)
    assert str(summary) == "2.00 ± 1.00"
    assert paper.summarise([4.0]).std == 0.0
    # A 0.03 dB difference is a tie, however consistent over seeds.
    tie = paper.compare([10.03, 11.03, 12.03], [10.0, 11.0, 12.0])
    assert tie.label == "tie"
    assert tie.mean == pytest.approx(0.03)
    # 1 dB with a small spread is a win, or a loss the other way round.
    win = paper.compare([11.0, 11.1, 10.95], [10.0, 10.05, 10.0])
    assert win.label == "better"
    assert paper.compare([10.0, 10.05, 10.0], [11.0, 11.1, 10.95]).label == "worse"
    # 1 dB within a larger seed spread is a tie.
    assert paper.compare([12.0, 9.0, 12.0], [10.0, 10.0, 10.0]).label == "tie"
    # For LSD lower is better.
    assert paper.compare([2.0, 2.1, 2.0], [3.0, 3.0, 3.1], higher_is_better=False).label == (
        "better"
    )
    # Unpaired values: the spread of the difference combines both spreads.
    unpaired = paper.compare([10.0, 10.2], [9.0, 9.2, 9.4])
    assert unpaired.std == pytest.approx(math.hypot(0.2 / 2**0.5, 0.2))
    assert unpaired.label == "better"


def test_seeds_and_experiments_on_the_command_line() -> None:
    paper = load_script()
    args = paper.parse_args(["--experiment", "all", "--seeds", "4"])
    assert args.experiment == list(paper.EXPERIMENTS)
    assert args.seed_list == [0, 1, 2, 3]
    assert paper.parse_args(["--experiment", "sr", "--seeds", "3", "7", "9"]).seed_list == [3, 7, 9]
    assert paper.parse_args(["--experiment", "sr", "--quick"]).seed_list == [0, 1]
    with pytest.raises(SystemExit):
        paper.parse_args(["--experiment", "sr", "--seeds", "2"])  # 3 seeds unless --quick
    assert paper.parse_args(["--experiment", "recipe"]).recipe_part == (1, 1)
    part = paper.parse_args(["--experiment", "recipe", "--recipe-part", "2/3"]).recipe_part
    assert part == (2, 3)
    for bad in ("3/2", "0/2", "half"):
        with pytest.raises(SystemExit):
            paper.parse_args(["--experiment", "recipe", "--recipe-part", bad])
    with pytest.raises(SystemExit):  # the parts of other experiments would race
        paper.parse_args(["--experiment", "recipe", "sr", "--recipe-part", "1/2"])


def run_script(*argv: str) -> subprocess.CompletedProcess:
    """benchmarks/paper.py with ``argv`` on one thread; it must succeed."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, str(SCRIPT), *argv]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    return done


def test_pooled_features_stay_aligned_with_the_signals() -> None:
    """One entry per signal, also for a signal shorter than a window (t-SNE colours each
    signal's points by its speaker)."""
    from tsfilm import TFiLMSuperResolver

    paper = load_script()
    t = np.arange(2048) / 2048
    high = np.stack([np.sin(2 * np.pi * f * t) for f in (30, 50, 70, 110)]).astype(np.float32)
    tiny = TFiLMSuperResolver.get_test_params()[0]
    est = TFiLMSuperResolver(ratio=4, **{**tiny, "patch_length": 256}).fit(high)
    signals = [high[0, :300], high[1], high[2, :1600]]
    pooled = paper.pooled_features(est, 4, signals, window=512)
    assert [p.shape[0] for p in pooled] == [1, 4, 3]  # features run at half the rate
    assert len({p.shape[1] for p in pooled}) == 1


@pytest.mark.slow
def test_quick_run_of_every_experiment(tmp_path: Path) -> None:
    run_script("--experiment", "all", "--quick", "--out", str(tmp_path))
    for name, (models, settings) in EXPECTED.items():
        rows = read_csv(tmp_path / f"{name}.csv")
        assert {r["model"] for r in rows} == models, name
        assert {r["setting"] for r in rows} == settings, name
        cells = {(r["setting"], r["model"], r["seed"]) for r in rows}
        assert len(cells) == len(rows) == len(models) * len(settings) * len(QUICK_SEEDS), name
        assert {r["seed"] for r in rows} == QUICK_SEEDS, name
        for r in rows:
            for key in ("snr", "lsd", "train_seconds", "epochs"):
                assert math.isfinite(float(r[key])), (name, key, r)
            assert float(r["lsd"]) >= 0
            assert float(r["epochs"]) >= 1 or r["model"] == "cubic spline", (name, r)
        markdown = (tmp_path / f"{name}.md").read_text()
        assert len(MEAN_STD.findall(markdown)) >= len(models) * len(settings), name
        for model in models:
            assert f"| {model} |" in markdown, (name, model)
        assert re.search(r"\| (tie|\S+ better|\S+ worse) \|", markdown), name
    # The ablation curves: a validation point per variant, seed and chunk.
    curve = read_csv(tmp_path / "ablation_curves.csv")
    assert {p["variant"] for p in curve} == EXPECTED["ablation"][0]
    assert all(math.isfinite(float(p["valid_snr"])) for p in curve)
    chunks = {p["chunk"] for p in curve}
    assert len(chunks) >= 2 and len(curve) == 3 * len(QUICK_SEEDS) * len(chunks)
    # t-SNE: a gender accuracy per model and seed, and the summary.
    tsne = read_csv(tmp_path / "tsne.csv")
    assert {(r["model"], r["seed"]) for r in tsne} == {
        (m, s) for m in ("TFiLM", "Conv") for s in QUICK_SEEDS
    }
    assert all(0 <= float(r["gender_knn_accuracy"]) <= 1 for r in tsne)
    assert all(0 < int(r["male_points"]) < int(r["points"]) for r in tsne)
    assert len(MEAN_STD.findall((tmp_path / "tsne.md").read_text())) >= 2
    for figure in ("sr.png", "ablation_curves.png", "tsne.png"):
        data = (tmp_path / figure).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000, figure

    # --resume reuses every trained model, its scores and the ablation curves: nothing
    # trains again and the tables are those of the first run.
    def scored(name: str) -> list[dict[str, str]]:  # the spline's fit time is a new timing
        rows = read_csv(tmp_path / f"{name}.csv")
        return [{**r, "train_seconds": "-"} if r["model"] == "cubic spline" else r for r in rows]

    first = {name: scored(name) for name in ("sr", "ablation")}
    out = ["--out", str(tmp_path)]
    again = run_script("--experiment", "sr", "ablation", "--quick", "--resume", *out)
    assert "reusing" in again.stdout and "trained" not in again.stdout, again.stdout[-3000:]
    for name, rows in first.items():
        assert scored(name) == rows, name
