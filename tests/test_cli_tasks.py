"""The ``tsfilm`` task commands: ``impute``, ``classify train``/``predict`` and ``evaluate``.

The data are small synthetic tables written to temporary folders and the networks are tiny
(one to eight epochs), so every command runs in seconds; one slow test imputes the real
retail panel. Each error case checks the exit status (2: the command line cannot work,
found before any work; 1: the work failed; 130: interrupted) and the one line on stderr.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tsfilm
from tsfilm import TFiLMImputer, TFiLMSequenceClassifier, TFiLMTextClassifier
from tsfilm.cli import main
from tsfilm.io.audio import write_audio

TINY_IMPUTER = ["--size", "tiny", "--epochs", "1", "-q"]
TINY_CLASSIFIER = ["--size", "tiny", "--learning-rate", "0.01", "--batch-size", "8", "-q"]


# ---------------------------------------------------------------------- helpers
def _cells(path: Path) -> list[list[str]]:
    """A CSV file as the text of its cells, header first."""
    with open(path, newline="") as file:
        return list(csv.reader(file))


def _fails(argv: list[str], capsys: pytest.CaptureFixture, status: int, *patterns: str) -> str:
    """Run ``tsfilm argv``, which must exit with ``status`` and one error line on stderr
    matching every pattern (argparse's own errors add a usage text above it)."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == status, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    command = "classify " + argv[1] if argv[0] == "classify" else argv[0]
    assert re.fullmatch(rf"tsfilm {command}: error: .+", lines[-1]), err
    if "usage:" not in err:
        assert len(lines) == 1, err
    for pattern in patterns:
        assert re.search(pattern, lines[-1]), lines[-1]
    return lines[-1]


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _wide_frame(seed: int = 0, n_rows: int = 96, n_series: int = 5) -> pd.DataFrame:
    """Daily series of weekly cycles, as a wide table of text cells with empty gaps."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_rows)
    frame = {"date": pd.date_range("2024-01-01", periods=n_rows).strftime("%Y-%m-%d")}
    for k in range(n_series):
        x = 20 + 8 * np.sin(2 * np.pi * t / 7 + k) + rng.normal(0, 1, n_rows)
        cells = np.array([f"{v:.2f}" for v in x], dtype=object)
        cells[rng.random(n_rows) < 0.15] = ""
        frame[f"item_{k}"] = cells
    return pd.DataFrame(frame)


# ---------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def _in_a_fresh_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tasks")


@pytest.fixture(scope="module")
def wide(root: Path) -> Path:
    path = root / "sales.csv"
    frame = _wide_frame()
    frame.loc[3, "item_0"] = "007"  # an observed cell whose text is not its number's
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def imputed(root: Path, wide: Path) -> dict[str, Path]:
    """``tsfilm impute`` fitted on the wide table, with the model kept by --save."""
    model, out = root / "imputer.tsfilm", root / "filled.csv"
    assert (
        main(
            [
                "impute",
                str(wide),
                "--index",
                "date",
                "-o",
                str(out),
                "--save",
                str(model),
                *TINY_IMPUTER,
            ]
        )
        == 0
    )
    return {"model": model, "output": out}


@pytest.fixture(scope="module")
def texts(root: Path) -> Path:
    rng = np.random.default_rng(0)
    good = ["a great film", "wonderful acting, a moving story", "loved it", "brilliant, funny"]
    bad = ["a dull film", "boring and slow", "hated it", "terrible acting, a weak story"]
    rows = [
        {
            "review": f"r{i}",
            "text": (good if i % 2 else bad)[rng.integers(4)] + " really" * rng.integers(3),
            "label": "pos" if i % 2 else "neg",
        }
        for i in range(48)
    ]
    path = root / "reviews.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def text_model(root: Path, texts: Path) -> Path:
    path = root / "text.tsfilm"
    assert (
        main(["classify", "train", str(texts), "-o", str(path), "--epochs", "8", *TINY_CLASSIFIER])
        == 0
    )
    return path


def _waves(n: int, length: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Slow and fast noisy sines, shape (n, length), and their labels."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) / length
    labels = np.where(np.arange(n) % 2, "slow", "fast")
    freq = np.where(labels == "slow", 2, 9)[:, None]
    x = np.sin(2 * np.pi * freq * t + rng.uniform(0, 6, (n, 1))) + rng.normal(0, 0.1, (n, length))
    return x, labels


@pytest.fixture(scope="module")
def series(root: Path) -> Path:
    x, labels = _waves(32, 40, seed=0)
    frame = pd.DataFrame(x, columns=[f"t{j}" for j in range(40)]).round(4)
    frame.insert(0, "label", labels)
    frame.insert(0, "name", [f"s{i}" for i in range(32)])
    path = root / "waves.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def series_model(root: Path, series: Path) -> Path:
    path = root / "waves.tsfilm"
    argv = ["classify", "train", str(series), "--series", "--id", "name", "-o", str(path)]
    assert main([*argv, "--epochs", "5", *TINY_CLASSIFIER]) == 0
    return path


def _tone(seconds: float, rate: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    phase = 2 * np.pi * rng.uniform(150, 300) * t
    return (sum(np.sin(k * phase) / k for k in range(1, 5)) / 3)[None].astype(np.float32)


@pytest.fixture(scope="module")
def audio_model(root: Path) -> Path:
    folder = root / "audio"
    folder.mkdir()
    for i in range(3):
        write_audio(folder / f"clip{i}.wav", _tone(0.5, 16000, seed=i), 16000)
    path = root / "sr.tsfilm"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TSFILM_CACHE_DIR", str(root / "cache"))
        argv = ["train", str(folder), "--size", "tiny", "--epochs", "1", "--patch-length", "512"]
        assert main([*argv, "-o", str(path), "-q"]) == 0
    return path


# ---------------------------------------------------------------------- impute
def test_impute_fills_only_the_empty_cells_of_a_wide_table(wide, imputed, capsys):
    before, after = _cells(wide), _cells(imputed["output"])
    assert after[0] == before[0] and len(after) == len(before)
    n_filled = 0
    for row_in, row_out in zip(before[1:], after[1:], strict=True):
        assert row_out[0] == row_in[0]  # the --index column, as it was
        for cell_in, cell_out in zip(row_in[1:], row_out[1:], strict=True):
            if cell_in:
                assert cell_out == cell_in  # observed cells keep their very text ("007")
            else:
                assert _is_number(cell_out)
                n_filled += 1
    assert n_filled > 20
    model = tsfilm.load(imputed["model"])
    assert isinstance(model, TFiLMImputer) and model.n_epochs_ == 1 and model.depth == 2


def test_imputed_values_are_plausible(wide, imputed):
    """Filled values lie in the range of the series (the data stay within 20 +- 12)."""
    before = pd.read_csv(wide, index_col="date")
    after = pd.read_csv(imputed["output"], index_col="date")
    filled = after.to_numpy()[before.isna().to_numpy()]
    assert filled.size and np.all((filled > 0) & (filled < 40))


def test_a_saved_imputer_gives_the_same_output(wide, imputed, tmp_path):
    out = tmp_path / "again.csv"
    assert (
        main(
            [
                "impute",
                str(wide),
                "--index",
                "date",
                "--model",
                str(imputed["model"]),
                "-o",
                str(out),
                "-q",
            ]
        )
        == 0
    )
    assert out.read_bytes() == imputed["output"].read_bytes()


def test_same_seed_same_fill(wide, tmp_path):
    outputs = []
    for name in ("a.csv", "b.csv"):
        argv = ["impute", str(wide), "--index", "date", "-o", str(tmp_path / name), "--seed", "3"]
        assert main([*argv, *TINY_IMPUTER]) == 0
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]


def test_long_table_keeps_its_rows_and_fills_like_the_wide_one(wide, imputed, tmp_path):
    frame = pd.read_csv(wide, dtype=str, keep_default_na=False)
    long = frame.melt(id_vars="date", var_name="item", value_name="units")
    long.insert(0, "note", "x")
    long = long.sample(frac=1.0, random_state=0).reset_index(drop=True)  # any row order
    source, out = tmp_path / "long.csv", tmp_path / "long_filled.csv"
    long.to_csv(source, index=False)
    argv = ["impute", str(source), "--id", "item", "--time", "date", "--value", "units"]
    assert main([*argv, "--model", str(imputed["model"]), "-o", str(out), "-q"]) == 0
    result = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(result.columns) == list(long.columns)
    kept = ["note", "date", "item"]
    pd.testing.assert_frame_equal(result[kept], long[kept])
    observed = long["units"] != ""
    assert (result["units"][observed] == long["units"][observed]).all()
    # The same series in another layout and order: the same fills, to float32 rounding.
    wide_filled = pd.read_csv(imputed["output"], index_col="date")
    gaps = long[~observed]
    expected = [wide_filled.loc[d, i] for d, i in zip(gaps["date"], gaps["item"], strict=True)]
    got = result["units"][~observed].astype(float).to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_zero_marks_the_missing_values(imputed, tmp_path):
    frame = _wide_frame(seed=1).replace("", "0")
    source, out = tmp_path / "zeros.csv", tmp_path / "out.csv"
    frame.to_csv(source, index=False)
    argv = ["impute", str(source), "--index", "date", "--missing-values", "0", "-o", str(out)]
    assert main([*argv, "--model", str(imputed["model"]), "-q"]) == 0
    before, after = _cells(source), _cells(out)
    for row_in, row_out in zip(before[1:], after[1:], strict=True):
        for cell_in, cell_out in zip(row_in[1:], row_out[1:], strict=True):
            assert cell_out == cell_in if cell_in != "0" else float(cell_out) > 0


def test_impute_to_standard_output_keeps_messages_off_it(wide, imputed, capsys):
    argv = ["impute", str(wide), "--index", "date", "--model", str(imputed["model"]), "-o", "-"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out == imputed["output"].read_text()
    assert "written to standard output" in captured.err


def test_impute_shows_training_progress_on_stderr_only(wide, tmp_path, capsys):
    out = tmp_path / "out.csv"
    assert (
        main(
            [
                "impute",
                str(wide),
                "--index",
                "date",
                "-o",
                str(out),
                "--size",
                "tiny",
                "--epochs",
                "2",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "TFiLMImputer" in captured.err and "epoch" in captured.err
    assert captured.out.splitlines() == [
        "fitting TFiLMImputer on 5 series: " + captured.out.split(": ", 1)[1].splitlines()[0],
        *captured.out.splitlines()[1:],
    ]
    assert "%|" not in captured.out and re.search(r"written to .*out\.csv", captured.out)


def test_a_series_without_observed_value_is_filled_and_named(imputed, tmp_path, capsys):
    frame = _wide_frame(seed=2)
    frame["empty"] = ""
    source, out = tmp_path / "in.csv", tmp_path / "out.csv"
    frame.to_csv(source, index=False)
    argv = ["impute", str(source), "--index", "date", "--model", str(imputed["model"])]
    assert main([*argv, "-o", str(out), "-q"]) == 0
    err = capsys.readouterr().err
    assert re.search(r"warning: 1 series have no observed value \(empty\)", err)
    filled = pd.read_csv(out)["empty"]
    assert filled.notna().all() and filled.nunique() == 1


@given(
    data=st.data(),
    n_series=st.integers(1, 4),
    length=st.integers(2, 40),
)
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_property_observed_cells_never_change(imputed, tmp_path, data, n_series, length):
    """Any wide table, any gaps, any way of writing numbers: observed cells come back as
    they were, every gap holds a finite number, and the shape is kept."""
    number = st.floats(-1e6, 1e6, allow_nan=False).map(
        lambda v: data.draw(st.sampled_from([f"{v:.3f}", f"{v:g}", f"{v:.2e}", repr(v)]))
    )
    cell = st.one_of(number, st.sampled_from(["", "NA", "nan"]))
    columns = {
        f"c{k}": data.draw(st.lists(cell, min_size=length, max_size=length))
        for k in range(n_series)
    }
    first = next(iter(columns))
    columns[first][0] = "1.5"  # at least one observed value
    source, out = tmp_path / "p.csv", tmp_path / "p_out.csv"
    pd.DataFrame(columns).to_csv(source, index=False)
    assert (
        main(["impute", str(source), "--model", str(imputed["model"]), "-o", str(out), "-q"]) == 0
    )
    before, after = _cells(source), _cells(out)
    assert len(after) == len(before) and after[0] == before[0]
    for row_in, row_out in zip(before[1:], after[1:], strict=True):
        for cell_in, cell_out in zip(row_in, row_out, strict=True):
            if cell_in.strip() in ("", "NA", "nan"):
                assert _is_number(cell_out)
            else:
                assert cell_out == cell_in


def test_parquet_round_trip_when_an_engine_is_installed(imputed, tmp_path):
    pytest.importorskip("pyarrow")
    frame = pd.read_csv(imputed["output"].parent / "sales.csv")
    frame["item_1"] = frame["item_1"].astype("float32")
    source, out = tmp_path / "in.parquet", tmp_path / "out.parquet"
    frame.to_parquet(source, index=False)
    argv = ["impute", str(source), "--index", "date", "--model", str(imputed["model"])]
    assert main([*argv, "-o", str(out), "-q"]) == 0
    result = pd.read_parquet(out)
    assert list(result.columns) == list(frame.columns) and result["item_1"].dtype == "float32"
    observed = frame.notna()
    assert (result[observed] == frame[observed]).sum().sum() == observed.sum().sum()
    assert not result.isna().any().any()


# ---------------------------------------------------------------------- impute: errors
def test_parquet_without_an_engine_names_what_to_install(wide, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("tsfilm._cli_tables._PARQUET_ENGINES", ("no_such_parquet_engine",))
    argv = ["impute", str(wide), "--index", "date", "-o", str(tmp_path / "out.parquet")]
    _fails(argv, capsys, 2, "Parquet needs pyarrow or fastparquet", "pip install pyarrow")


@pytest.mark.parametrize(
    ("extra", "status", "patterns"),
    [
        (["--index", "day"], 2, [r"--index 'day': INPUT .* has no such column", "'date'"]),
        ([], 1, [r"column 'date' is not numeric: row 1 holds '2024-01-01'", "--index date"]),
        (["--index", "date", "--missing-values", "0"], 2, ["row .* is empty", "--missing-v"]),
        (["--index", "date", "--id", "x"], 2, ["--index is for wide tables"]),
        (["--time", "date"], 2, ["a long table needs --id and --value"]),
        (["--index", "date", "--epochs", "0"], 2, ["argument --epochs: must be an integer"]),
        (["--index", "date", "--missing-values", "x"], 2, ["expected nan or a number"]),
        (["--index", "date", "--size", "huge"], 2, ["invalid choice"]),
    ],
)
def test_impute_usage_and_data_errors(wide, tmp_path, capsys, extra, status, patterns):
    out = tmp_path / "out.csv"
    _fails(["impute", str(wide), "-o", str(out), *extra, "-q"], capsys, status, *patterns)
    assert not out.exists()


def test_impute_output_checks_come_before_training(wide, tmp_path, monkeypatch, capsys):
    def fit(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(TFiLMImputer, "fit", fit)
    base = ["impute", str(wide), "--index", "date", "-q"]
    _fails([*base, "-o", str(tmp_path / "no" / "o.csv")], capsys, 2, "no does not exist")
    _fails([*base, "-o", str(tmp_path / "o.xlsx")], capsys, 2, "unknown table format")
    _fails([*base, "-o", str(wide)], capsys, 2, "is the INPUT file")
    not_a_model = tmp_path / "notes.tsfilm"
    not_a_model.write_text("keep me")
    argv = [*base, "-o", str(tmp_path / "o.csv"), "--save", str(not_a_model)]
    _fails(argv, capsys, 2, "is not a tsfilm model file")
    assert not_a_model.read_text() == "keep me"


def test_impute_refuses_fitting_flags_with_a_saved_model(wide, imputed, tmp_path, capsys):
    argv = ["impute", str(wide), "--index", "date", "--model", str(imputed["model"])]
    _fails([*argv, "-o", str(tmp_path / "o.csv"), "--epochs", "3"], capsys, 2, "--epochs set")


def test_impute_with_a_model_of_another_task(wide, series_model, tmp_path, capsys):
    argv = ["impute", str(wide), "--index", "date", "--model", str(series_model)]
    _fails(
        [*argv, "-o", str(tmp_path / "o.csv")],
        capsys,
        2,
        r"holds a TFiLMSequenceClassifier \(classification\)",
        "imputation model",
    )


def test_impute_with_too_few_observed_values(tmp_path, capsys):
    source = tmp_path / "few.csv"
    source.write_text("a,b\n1,\n,2\n3,\n")
    _fails(
        ["impute", str(source), "-o", str(tmp_path / "o.csv"), *TINY_IMPUTER],
        capsys,
        1,
        "has 3 observed value",
        "at least 10",
        "--model",
    )


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("a,b\n1,2\n1,x\n", r"column 'b' is not numeric: row 2 holds 'x'"),
        ("a,b\n1,2\n1,inf\n", r"row 2 holds 'inf', an infinite value"),
        ("a,a\n1,2\n", "two columns named 'a'"),
        ("a,b\n1,2,3\n", "not a readable CSV file"),
        ("", "is empty"),
        ("a,b\n", "has no data rows"),
    ],
)
def test_impute_unreadable_tables(tmp_path, capsys, text, pattern):
    source = tmp_path / "bad.csv"
    source.write_text(text)
    _fails(["impute", str(source), "-o", str(tmp_path / "o.csv"), "-q"], capsys, 1, pattern)


def test_long_table_errors(tmp_path, capsys):
    source = tmp_path / "long.csv"
    source.write_text("id,t,v\na,1,1\na,1,2\nb,2,\n")
    base = ["impute", str(source), "-o", str(tmp_path / "o.csv"), "--id", "id", "--value", "v"]
    _fails([*base, "--time", "t"], capsys, 1, r"id 'a' has two rows at t '1' \(rows 1 and 2\)")
    source.write_text("id,t,v\na,1,1\na,soon,2\n")
    _fails([*base, "--time", "t"], capsys, 1, "row 2 holds 'soon', neither a number nor a date")
    _fails([*base, "--time", "v"], capsys, 2, "must name different columns")


# ---------------------------------------------------------------------- evaluate: imputer
def test_evaluate_an_imputer_on_hidden_values(wide, imputed, capsys):
    assert main(["evaluate", str(imputed["model"]), str(wide), "--index", "date", "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["method", "mae", "rmse", "n"]
    assert [line.split()[0] for line in lines[1:]] == ["tfilm", "linear"]
    argv = ["evaluate", str(imputed["model"]), str(wide), "--index", "date", "--json"]
    assert main([*argv, "--hide", "0.3", "--seed", "1", "-q"]) == 0
    result = json.loads(capsys.readouterr().out)
    observed = (pd.read_csv(wide, index_col="date").notna()).to_numpy().sum()
    assert result["task"] == "imputation" and result["n_observed"] == observed
    assert result["n"] == round(0.3 * observed)
    for metrics in (result["metrics"], result["reference"]["metrics"]):
        assert 0 < metrics["mae"] <= metrics["rmse"] < 20
    assert main([*argv, "--hide", "0.3", "--seed", "1", "-q"]) == 0
    assert json.loads(capsys.readouterr().out) == result  # the same values hidden


def test_evaluate_refuses_options_of_another_task(wide, imputed, text_model, texts, capsys):
    _fails(
        ["evaluate", str(text_model), str(texts), "--hide", "0.2"],
        capsys,
        2,
        "--hide applies to imputation models",
        "classification model",
    )
    _fails(
        ["evaluate", str(imputed["model"]), str(wide), "--resample"],
        capsys,
        2,
        "--resample applies to super_resolution",
    )
    _fails(["evaluate", str(imputed["model"]), str(wide), str(wide)], capsys, 2, "give one DATA")


# ---------------------------------------------------------------------- classify: texts
def test_text_classifier_predictions_file(text_model, texts, tmp_path, capsys):
    out = tmp_path / "predictions.csv"
    argv = ["classify", "predict", str(text_model), str(texts), "--id", "review", "-o", str(out)]
    assert main(argv) == 0
    result = pd.read_csv(out)
    assert list(result.columns) == ["review", "prediction", "proba_neg", "proba_pos"]
    source = pd.read_csv(texts)
    assert (result["review"] == source["review"]).all()
    proba = result[["proba_neg", "proba_pos"]].to_numpy()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=2e-6)
    assert (result["prediction"] == np.array(["neg", "pos"])[proba.argmax(axis=1)]).all()
    assert (result["prediction"] == source["label"]).mean() >= 0.9  # it learnt the words


def test_text_file_one_text_per_line(text_model, tmp_path, capsys):
    source = tmp_path / "new.txt"
    source.write_text("a great film, loved it\nboring and slow\n\nterrible acting\n")
    assert main(["classify", "predict", str(text_model), str(source), "-o", "-"]) == 0
    captured = capsys.readouterr()
    rows = list(csv.reader(captured.out.splitlines()))
    assert rows[0] == ["prediction", "proba_neg", "proba_pos"] and len(rows) == 5
    assert [r[0] for r in rows[1:3]] == ["pos", "neg"]
    assert "4 prediction(s)" in captured.err


def test_evaluate_a_text_classifier(text_model, texts, capsys):
    assert main(["evaluate", str(text_model), str(texts), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["class"] == "TFiLMTextClassifier" and result["n"] == 48
    metrics = result["metrics"]
    assert 0.9 <= metrics["accuracy"] <= 1 and 0.9 <= metrics["macro_f1"] <= 1
    assert 0 <= metrics["log_loss"] < 0.7
    assert main(["evaluate", str(text_model), str(texts)]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["method", "accuracy", "macro_f1", "log_loss", "n"]
    assert row.split()[0] == "tfilm_text" and row.split()[-1] == "48"


def test_a_saved_text_model_is_the_one_trained(text_model):
    est = tsfilm.load(text_model)
    assert isinstance(est, TFiLMTextClassifier)
    assert est.classes_.tolist() == ["neg", "pos"] and est.n_filters == 16


# ---------------------------------------------------------------------- classify: series
def test_series_classifier_from_a_table(series_model, series, tmp_path, capsys):
    assert isinstance(tsfilm.load(series_model), TFiLMSequenceClassifier)
    out = tmp_path / "p.csv"
    argv = ["classify", "predict", str(series_model), str(series), "--id", "name", "-o", str(out)]
    assert main(argv) == 0
    result = pd.read_csv(out)
    assert list(result.columns) == ["name", "prediction", "proba_fast", "proba_slow"]
    assert (result["prediction"] == pd.read_csv(series)["label"]).mean() >= 0.9
    capsys.readouterr()
    assert main(["evaluate", str(series_model), str(series), "--id", "name", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    assert metrics["accuracy"] >= 0.9 and 0 <= metrics["log_loss"] < 0.7


def test_series_of_different_lengths_in_a_table(series_model, tmp_path):
    x, _ = _waves(4, 40, seed=5)
    frame = pd.DataFrame(x, columns=[f"t{j}" for j in range(40)]).round(4).astype(object)
    frame.iloc[1, 30:] = ""  # a shorter series: empty cells at the end of its row
    source, out = tmp_path / "ragged.csv", tmp_path / "p.csv"
    frame.to_csv(source, index=False)
    assert main(["classify", "predict", str(series_model), str(source), "-o", str(out)]) == 0
    assert len(pd.read_csv(out)) == 4


def test_series_classifier_from_numpy_files(tmp_path, capsys):
    x, labels = _waves(24, 32, seed=1)
    np.savez(tmp_path / "train.npz", X=x[:, None, :].astype(np.float32), y=labels)
    np.save(tmp_path / "new.npy", x[:6])
    model = tmp_path / "m.tsfilm"
    argv = ["classify", "train", str(tmp_path / "train.npz"), "-o", str(model), "--epochs", "3"]
    assert main([*argv, *TINY_CLASSIFIER]) == 0
    capsys.readouterr()
    assert main(["classify", "predict", str(model), str(tmp_path / "new.npy"), "-o", "-"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "prediction,proba_fast,proba_slow" and len(rows) == 7
    assert main(["evaluate", str(model), str(tmp_path / "train.npz"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 24


def test_registered_baseline_by_name(series, tmp_path):
    out = tmp_path / "cnn.tsfilm"
    argv = ["classify", "train", str(series), "--series", "--id", "name", "-o", str(out)]
    assert main([*argv, "--model-name", "smallcnn", "--epochs", "1", *TINY_CLASSIFIER]) == 0
    assert type(tsfilm.load(out)).__name__ == "SmallCNNSequenceClassifier"


# ---------------------------------------------------------------------- classify: errors
def test_classify_errors(texts, series, text_model, series_model, imputed, tmp_path, capsys):
    out = str(tmp_path / "m.tsfilm")
    train = ["classify", "train"]
    _fails(
        [*train, str(texts), "-o", out, "--label-column", "stars"],
        capsys,
        2,
        r"--label-column 'stars': DATA .* has no such column",
    )
    _fails(
        [*train, str(texts), "-o", out, "--model-name", "lstm"],
        capsys,
        2,
        "'lstm' classifies numeric series",
        "add --series",
    )
    _fails(
        [*train, str(texts), "-o", out, "--model-name", "tfilm_txt"],
        capsys,
        2,
        "unknown model 'tfilm_txt'",
        "Did you mean 'tfilm_text'",
    )
    _fails(
        [*train, str(series), "--series", "-o", out],
        capsys,
        1,
        "column 'name' is not numeric",
        "--id name",
    )
    _fails(
        [*train, str(series), "--series", "--id", "name", "--max-length", "9", "-o", out],
        capsys,
        2,
        "--max-length does not apply to model 'tfilm'",
    )
    _fails(
        [*train, str(series), "-o", out],
        capsys,
        2,
        "--text-column 'text': DATA .* no such column",
        "numeric series take --series",
    )
    one_class = tmp_path / "one.csv"
    one_class.write_text("text,label\ngood,pos\nfine,pos\n")
    _fails([*train, str(one_class), "-o", out], capsys, 1, "every sample has the label 'pos'")
    assert not Path(out).exists()
    predict = ["classify", "predict"]
    _fails(
        [*predict, str(imputed["model"]), str(texts), "-o", "-"],
        capsys,
        2,
        r"holds a TFiLMImputer \(imputation\)",
        "needs a classification model",
    )
    np.save(tmp_path / "x.npy", np.zeros((2, 8)))
    _fails(
        [*predict, str(text_model), str(tmp_path / "x.npy"), "-o", "-"],
        capsys,
        2,
        "holds numeric arrays but the model classifies texts",
    )
    _fails([*predict, str(series_model), str(texts), "-o", "-"], capsys, 1, "is not numeric")
    lines = tmp_path / "t.txt"
    lines.write_text("a text\n")
    _fails([*predict, str(series_model), str(lines), "-o", "-"], capsys, 2, "is a text file")
    gap = tmp_path / "gap.csv"
    gap.write_text("t0,t1,t2\n1,,3\n")
    _fails(
        [*predict, str(series_model), str(gap), "-o", "-"],
        capsys,
        1,
        "row 1 has no value in column 't1', inside the series",
        "tsfilm impute",
    )
    strangers = tmp_path / "strangers.csv"
    strangers.write_text("text,label\ngood,5 stars\n")
    _fails(
        ["evaluate", str(text_model), str(strangers)],
        capsys,
        1,
        "label\\(s\\) '5 stars' that the model does not know",
    )


def test_ctrl_c_during_classify_train_still_writes_the_model(texts, tmp_path, monkeypatch, capsys):
    def interrupt(self, module, batch):
        raise KeyboardInterrupt

    monkeypatch.setattr(TFiLMTextClassifier, "compute_loss", interrupt)
    out = tmp_path / "m.tsfilm"
    _fails(
        ["classify", "train", str(texts), "-o", str(out), *TINY_CLASSIFIER],
        capsys,
        130,
        "training interrupted after 0 epoch",
        "model written to",
    )
    assert isinstance(tsfilm.load(out), TFiLMTextClassifier)


def test_diverged_training_names_the_learning_rate(series, tmp_path, monkeypatch, capsys):
    def nan_loss(self, module, batch):
        return module(batch[0], None).sum() * torch.tensor(float("nan"))

    monkeypatch.setattr(TFiLMSequenceClassifier, "compute_loss", nan_loss)
    argv = ["classify", "train", str(series), "--series", "--id", "name", "-o", "m.tsfilm"]
    _fails([*argv, *TINY_CLASSIFIER], capsys, 1, "--learning-rate")


# ---------------------------------------------------------------------- evaluate: audio
def test_evaluate_a_super_resolver_against_the_spline(audio_model, tmp_path, capsys):
    folder = tmp_path / "held_out"
    folder.mkdir()
    write_audio(folder / "a.wav", _tone(0.4, 16000, seed=7), 16000)
    stereo = np.concatenate([_tone(0.3, 16000, seed=8), _tone(0.3, 16000, seed=9)])
    write_audio(folder / "b.flac", stereo, 16000)
    assert main(["evaluate", str(audio_model), str(folder), "--json", "-q"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["n"], result["files"]) == (3, 2)  # every channel is a series
    assert result["seconds"] == pytest.approx(0.7)
    for metrics in (result["metrics"], result["reference"]["metrics"]):
        assert 0 < metrics["snr_db"] < 80 and 0 < metrics["lsd"] < 10
    assert result["reference"]["name"] == "spline"
    assert main(["evaluate", str(audio_model), str(folder / "a.wav")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["method", "snr_db", "lsd", "n"]
    assert [line.split()[0] for line in lines[1:]] == ["tfilm", "spline"]


def test_evaluate_audio_at_another_rate_needs_resample(audio_model, tmp_path, capsys):
    path = tmp_path / "8k.wav"
    write_audio(path, _tone(0.4, 8000, seed=3), 8000)
    _fails(
        ["evaluate", str(audio_model), str(path)],
        capsys,
        2,
        "at 8000 Hz but the model makes 16000 Hz",
        "--resample",
    )
    assert main(["evaluate", str(audio_model), str(path), "--resample", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == 1


def test_evaluate_bad_inputs(audio_model, tmp_path, capsys):
    (tmp_path / "notes.wav").write_text("not audio")
    _fails(
        ["evaluate", str(audio_model), str(tmp_path / "notes.wav")],
        capsys,
        1,
        "is not an audio file",
    )
    _fails(
        ["evaluate", str(audio_model), str(tmp_path / "gone.wav")],
        capsys,
        2,
        "DATA file .*gone.wav does not exist",
    )
    garbage = tmp_path / "garbage.tsfilm"
    garbage.write_bytes(b"\x00" * 64)
    _fails(
        ["evaluate", str(garbage), str(tmp_path / "notes.wav")],
        capsys,
        1,
        "not a tsfilm model file",
    )


def test_debug_lets_the_exception_through_in_sub_sub_commands(texts, tmp_path):
    garbage = tmp_path / "garbage.tsfilm"
    garbage.write_bytes(b"\x00" * 64)
    argv = [str(garbage), str(texts), "-o", "-"]
    with pytest.raises(ValueError, match="not a tsfilm model file"):
        main(["--debug", "classify", "predict", *argv])
    with pytest.raises(ValueError, match="not a tsfilm model file"):
        main(["classify", "predict", *argv, "--debug"])


# ---------------------------------------------------------------------- real data
@pytest.mark.slow
def test_retail_sales_panel_end_to_end(tmp_path, capsys):
    """The retail panel as a shop would export it: one column per item, a date column."""
    from tsfilm.datasets import load_retail_sales

    try:
        sales = load_retail_sales(n_items=24, n_days=160, cache_dir=tmp_path / "cache")
    except ModuleNotFoundError as exc:
        pytest.skip(str(exc))
    frame = pd.DataFrame(sales.data.T.astype(int), columns=sales.stock_codes).astype(object)
    frame.insert(0, "date", sales.dates.astype(str))
    gaps = np.random.default_rng(0).random(frame.shape) < 0.1
    gaps[:, 0] = False
    frame = frame.mask(gaps, "")
    source, out, model = tmp_path / "sales.csv", tmp_path / "filled.csv", tmp_path / "r.tsfilm"
    frame.to_csv(source, index=False)
    assert (
        main(
            [
                "impute",
                str(source),
                "--index",
                "date",
                "-o",
                str(out),
                "--save",
                str(model),
                "--size",
                "tiny",
                "--max-time",
                "8",
                "-q",
            ]
        )
        == 0
    )
    before, after = _cells(source), _cells(out)
    for row_in, row_out in zip(before[1:], after[1:], strict=True):
        for cell_in, cell_out in zip(row_in, row_out, strict=True):
            assert cell_out == cell_in if cell_in else float(cell_out) >= 0  # sales: >= 0
    capsys.readouterr()
    assert main(["evaluate", str(model), str(source), "--index", "date", "--json", "-q"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == round(0.2 * (~gaps[:, 1:]).sum())
    assert 0 <= result["metrics"]["mae"] <= result["metrics"]["rmse"]
