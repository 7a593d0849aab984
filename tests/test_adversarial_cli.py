"""The ``tsfilm`` command given careless or hostile input: one-line errors, no lost model.

Every case checks the exit status (2: the command line cannot work, found before any
work; 1: the work failed; 130: interrupted) and that the one line on stderr names the
problem. Trainings are tiny (``--size tiny --epochs 1 --patch-length 512``).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import SafetensorError

import tsfilm
import tsfilm.io.model_file
from tsfilm import TFiLMImputer, TFiLMSequenceClassifier, TFiLMSuperResolver
from tsfilm.cli import _parameter_message, main
from tsfilm.io.audio import write_audio
from tsfilm.validation import InvalidParameterError

HIGH_RATE = 16000
LOW_RATE = HIGH_RATE // 4
TINY = ["--size", "tiny", "--epochs", "1", "--patch-length", "512", "-q"]


def _tone(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """A few harmonics, shape (1, n), within [-1, 1]."""
    f0 = np.random.default_rng(seed).uniform(150, 300)
    t = np.arange(round(seconds * rate)) / rate
    return (sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 4)) / 3)[None].astype(
        np.float32
    )


def _fails(argv: list[str], capsys: pytest.CaptureFixture, status: int, *patterns: str) -> str:
    """Run ``tsfilm argv``, which must exit with ``status`` and one error line matching
    every pattern (argparse's own errors add a usage text above it); return the line."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    captured = capsys.readouterr()
    assert info.value.code == status, captured.err
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    command = next(a for a in argv if not a.startswith("-"))
    assert re.fullmatch(rf"tsfilm {command}: error: .+", lines[-1]), captured.err
    if status != 2 or "usage:" not in captured.err:  # tsfilm's own messages: one line
        assert len(lines) == 1, captured.err
    for pattern in patterns:
        assert re.search(pattern, lines[-1]), lines[-1]
    return lines[-1]


@pytest.fixture(scope="module")
def audio_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("audio")
    for i in range(3):
        write_audio(folder / f"clip{i}.wav", _tone(0.5, HIGH_RATE, seed=i), HIGH_RATE)
    return folder


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, audio_folder: Path) -> dict[str, Path]:
    """A super-resolution model made by ``tsfilm train``, models of other tasks, and
    audio and non-audio inputs."""
    root = tmp_path_factory.mktemp("files")
    model = root / "model.tsfilm"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TSFILM_CACHE_DIR", str(root / "cache"))
        assert main(["train", str(audio_folder), *TINY, "-o", str(model)]) == 0
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 64)).astype(np.float32)
    gaps = x.copy()
    gaps[:, ::5] = np.nan
    imputer = TFiLMImputer(**{**TFiLMImputer.get_test_params()[0], "max_epochs": 1})
    imputer.fit(gaps).save(root / "imputer.tsfilm")
    classifier_params = {**TFiLMSequenceClassifier.get_test_params()[0], "max_epochs": 1}
    TFiLMSequenceClassifier(**classifier_params).fit(x, np.arange(8) % 2).save(
        root / "classifier.tsfilm"
    )
    (root / "garbage.tsfilm").write_bytes(bytes(range(256)) * 4)
    write_audio(root / "low.wav", _tone(0.1, LOW_RATE), LOW_RATE)
    (root / "text.wav").write_text("this is not audio\n")
    (root / "truncated.wav").write_bytes((root / "low.wav").read_bytes()[:30])
    (root / "zero_bytes.wav").write_bytes(b"")
    import soundfile

    soundfile.write(root / "no_samples.wav", np.zeros((0, 1)), LOW_RATE)
    (root / "a_folder.wav").mkdir()
    return {p.stem: p for p in root.iterdir()}


@pytest.fixture(autouse=True)
def _in_a_fresh_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Whatever a command writes by default lands in the test's folder."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TSFILM_CACHE_DIR", str(tmp_path / "cache"))


# ---------------------------------------------------------------------- train: output paths
def test_train_output_in_missing_folder_is_refused_before_training(audio_folder, tmp_path, capsys):
    out = tmp_path / "missing_folder" / "m.tsfilm"
    line = _fails(["train", str(audio_folder), *TINY, "-o", str(out)], capsys, 2)
    assert "missing_folder does not exist" in line and "mkdir -p" in line
    assert not out.parent.exists()


def test_train_output_that_is_a_folder_is_refused(audio_folder, tmp_path, capsys):
    _fails(["train", str(audio_folder), *TINY, "-o", str(tmp_path)], capsys, 2, "is a folder")


def test_train_output_under_a_file_is_refused(audio_folder, tmp_path, capsys):
    out = tmp_path / "clip0.wav" / "m.tsfilm"
    (tmp_path / "clip0.wav").write_bytes(b"x")
    _fails(["train", str(audio_folder), *TINY, "-o", str(out)], capsys, 2, "is a file, not a")


def _can_create_a_file_in(folder: str) -> bool:
    try:
        fd, name = tempfile.mkstemp(dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True


@pytest.mark.skipif(
    not Path("/sys").is_dir() or _can_create_a_file_in("/sys"),
    reason="needs a folder where no file can be created (Linux /sys)",
)
def test_train_output_in_unwritable_folder_is_refused(audio_folder, capsys):
    _fails(["train", str(audio_folder), *TINY, "-o", "/sys/m.tsfilm"], capsys, 2, "cannot write")


def test_train_never_overwrites_a_file_that_is_not_a_model(audio_folder, files, tmp_path, capsys):
    data = tmp_path / "precious.wav"
    shutil.copy(files["low"], data)
    argv = ["train", str(audio_folder), *TINY, "-o", str(data)]
    _fails(argv, capsys, 2, "precious.wav exists and is not a tsfilm model file", "remove")
    assert data.read_bytes() == files["low"].read_bytes()


# ---------------------------------------------------------------------- train: numbers
@pytest.mark.parametrize(
    ("flag", "value", "pattern"),
    [
        ("--epochs", "0", "must be an integer >= 1"),
        ("--epochs", "abc", "expected an integer"),
        ("--ratio", "1", "must be an integer >= 2"),
        ("--learning-rate", "inf", "must be a finite number > 0"),
        ("--learning-rate", "nan", "must be a finite number > 0"),
        ("--patch-length", "-5", "must be an integer >= 2"),
        ("--max-time", "-1", "must be a finite number > 0"),
        ("--batch-size", "0", "must be an integer >= 1"),
        ("--seed", "-1", r"must be an integer in \[0, 4294967295\]"),
    ],
)
def test_train_numbers_out_of_range_are_usage_errors(
    audio_folder, tmp_path, capsys, flag, value, pattern
):
    out = tmp_path / "m.tsfilm"
    argv = ["train", str(audio_folder), *TINY, "-o", str(out), flag, value]
    _fails(argv, capsys, 2, f"argument {flag}: {pattern}")
    assert not out.exists()


def test_estimator_parameter_errors_speak_of_flags():
    with pytest.raises(InvalidParameterError) as info:
        TFiLMSuperResolver(max_epochs=0)._validate_params()
    message = _parameter_message(info.value, {"max_epochs": "--epochs"})
    assert message == "--epochs must be an int in the range [1, inf); got 0."


# ---------------------------------------------------------------------- train: sources
def test_train_source_that_is_a_file_is_refused(files, capsys):
    _fails(["train", str(files["low"]), *TINY], capsys, 2, "is not a folder")


def test_train_folder_without_audio(tmp_path, capsys, cache):
    (tmp_path / "notes.txt").write_text("no audio here")
    _fails(["train", str(tmp_path), *TINY], capsys, 1, r"No \.wav or \.flac files")


def test_train_folder_with_a_text_file_named_wav_names_it(audio_folder, tmp_path, capsys, cache):
    folder = tmp_path / "audio"
    shutil.copytree(audio_folder, folder)
    (folder / "broken.wav").write_text("not audio")
    out = tmp_path / "m.tsfilm"
    _fails(["train", str(folder), *TINY, "-o", str(out)], capsys, 1, "broken.wav", "not recognised")


def test_train_folder_with_only_short_recordings(tmp_path, capsys, cache):
    write_audio(tmp_path / "short.wav", np.zeros(20, np.float32) + 0.1, HIGH_RATE)
    _fails(["train", str(tmp_path), *TINY], capsys, 1, "at least .* samples", "--ratio")


def test_train_unknown_voice(capsys):
    _fails(["train", "--voices", "xx_XX_m_Nobody", *TINY], capsys, 2, "unknown voice", "Nobody")


# ---------------------------------------------------------------------- train: never lose a model
@pytest.fixture
def fallback_dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, Path]:
    """Current and temporary folders of this test, where a model that could not be
    written to its output lands."""
    cwd, tmp = tmp_path / "cwd", tmp_path / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("TSFILM_CACHE_DIR", str(tmp_path / "cache"))
    return cwd, tmp


def _saved_to(line: str) -> Path:
    path = Path(re.search(r"saved to (\S+) instead", line).group(1))
    assert isinstance(tsfilm.load(path), TFiLMSuperResolver)
    return path


def test_output_folder_removed_during_training_keeps_the_model(
    audio_folder, tmp_path, fallback_dirs, monkeypatch, capsys
):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    fit = TFiLMSuperResolver.fit

    def fit_then_remove_output_folder(self, X, y=None):
        fitted = fit(self, X, y)
        shutil.rmtree(out_dir)
        return fitted

    monkeypatch.setattr(TFiLMSuperResolver, "fit", fit_then_remove_output_folder)
    argv = ["train", str(audio_folder), *TINY, "-o", str(out_dir / "m.tsfilm")]
    line = _fails(argv, capsys, 1, "could not write the model to .*m.tsfilm", "move it")
    assert _saved_to(line).parent == fallback_dirs[0]  # the current folder first


def _full_disk_except(monkeypatch: pytest.MonkeyPatch, writable: Path | None, error=OSError):
    real = tsfilm.io.model_file.save_file

    def save_file(tensors, filename, metadata=None):
        if writable is None or Path(filename).parent.resolve() != writable.resolve():
            if error is OSError:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(filename))
            raise error("Error while serializing: I/O error")
        return real(tensors, filename, metadata=metadata)

    monkeypatch.setattr(tsfilm.io.model_file, "save_file", save_file)


def test_full_disk_saves_the_model_in_the_temporary_folder(
    audio_folder, tmp_path, fallback_dirs, monkeypatch, capsys
):
    cwd, tmp = fallback_dirs
    _full_disk_except(monkeypatch, writable=tmp)
    out = tmp_path / "m.tsfilm"
    line = _fails(["train", str(audio_folder), *TINY, "-o", str(out)], capsys, 1, "No space left")
    saved = _saved_to(line)
    assert saved.parent == tmp and saved.name.startswith("m-") and saved.suffix == ".tsfilm"
    assert not out.exists() and not list(cwd.iterdir())


def test_nowhere_to_save_says_so(audio_folder, tmp_path, fallback_dirs, monkeypatch, capsys):
    _full_disk_except(monkeypatch, writable=None, error=SafetensorError)
    out = tmp_path / "m.tsfilm"
    _fails(["train", str(audio_folder), *TINY, "-o", str(out)], capsys, 1, "nor to a fallback")
    assert not any(p.is_file() for d in fallback_dirs for p in d.iterdir())


def test_diverged_training_names_the_learning_rate(audio_folder, tmp_path, monkeypatch, capsys):
    def nan_loss(self, module, batch):
        return module(batch[0]).sum() * torch.tensor(float("nan"))

    monkeypatch.setattr(TFiLMSuperResolver, "compute_loss", nan_loss)
    out = tmp_path / "m.tsfilm"
    _fails(["train", str(audio_folder), *TINY, "-o", str(out)], capsys, 1, "--learning-rate")
    assert not out.exists()


def test_ctrl_c_during_training_still_writes_the_model(
    audio_folder, tmp_path, monkeypatch, capsys, cache
):
    def interrupt(self, module, batch):
        raise KeyboardInterrupt

    monkeypatch.setattr(TFiLMSuperResolver, "compute_loss", interrupt)
    out = tmp_path / "m.tsfilm"
    _fails(["train", str(audio_folder), *TINY, "-o", str(out)], capsys, 130, "interrupted")
    assert isinstance(tsfilm.load(out), TFiLMSuperResolver)


def test_ctrl_c_while_reading_exits_130(audio_folder, tmp_path, monkeypatch, capsys):
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("tsfilm.datasets.load_speech", interrupt)
    argv = ["train", str(audio_folder), *TINY, "-o", str(tmp_path / "m.tsfilm")]
    assert _fails(argv, capsys, 130) == "tsfilm train: error: interrupted."


# ---------------------------------------------------------------------- upsample: models
@pytest.mark.parametrize(
    ("name", "cls", "task"),
    [
        ("imputer", "TFiLMImputer", "imputation"),
        ("classifier", "TFiLMSequenceClassifier", "classification"),
    ],
)
def test_upsample_with_a_model_of_another_task(files, tmp_path, capsys, name, cls, task):
    argv = ["upsample", str(files[name]), str(files["low"]), str(tmp_path / "out.wav")]
    _fails(argv, capsys, 2, rf"holds a {cls} \(.*{task}", "needs a super-resolution model")
    assert not (tmp_path / "out.wav").exists()


def test_upsample_with_garbage_bytes_as_model(files, tmp_path, capsys):
    argv = ["upsample", str(files["garbage"]), str(files["low"]), str(tmp_path / "out.wav")]
    _fails(argv, capsys, 1, "garbage.tsfilm", "not a tsfilm model file")


@pytest.mark.parametrize(
    ("model", "pattern"), [("a_folder.wav", "is a folder"), ("nope", "does not exist")]
)
def test_upsample_model_path_that_is_not_a_file(files, tmp_path, capsys, model, pattern):
    path = files["model"].parent / model
    argv = ["upsample", str(path), str(files["low"]), str(tmp_path / "out.wav")]
    _fails(argv, capsys, 2, f"MODEL .*{model}.* {pattern}")


# ---------------------------------------------------------------------- upsample: inputs
@pytest.mark.parametrize("name", ["text", "truncated", "zero_bytes"])
def test_upsample_input_that_is_not_audio_names_the_file(files, tmp_path, capsys, name):
    out = tmp_path / "out.wav"
    argv = ["upsample", str(files["model"]), str(files[name]), str(out)]
    _fails(argv, capsys, 1, f"INPUT .*{name}.wav is not an audio file")
    assert not out.exists()


@pytest.mark.parametrize(
    ("name", "status", "pattern"),
    [
        ("no_samples", 1, "holds no samples"),
        ("a_folder", 2, "is a folder"),
        ("gone", 2, "does not exist"),
    ],
)
def test_upsample_input_empty_folder_or_missing(files, tmp_path, capsys, name, status, pattern):
    path = files["model"].parent / f"{name}.wav"
    argv = ["upsample", str(files["model"]), str(path), str(tmp_path / "out.wav")]
    _fails(argv, capsys, status, f"INPUT .*{name}.wav {pattern}")


# ---------------------------------------------------------------------- upsample: outputs
def test_upsample_output_checks_come_before_the_work(files, tmp_path, capsys):
    model, low = str(files["model"]), str(files["low"])
    missing = tmp_path / "missing" / "out.wav"
    _fails(["upsample", model, low, str(missing)], capsys, 2, "missing does not exist")
    _fails(["upsample", model, low, str(tmp_path)], capsys, 2, "is a folder")
    _fails(["upsample", model, low, str(tmp_path / "out.xyz")], capsys, 2, r"extension.*\.wav")


def test_upsample_never_overwrites_the_model_or_the_input(files, capsys):
    before = files["model"].read_bytes()
    model, low = str(files["model"]), str(files["low"])
    _fails(["upsample", model, low, model], capsys, 2, "is the MODEL file", "another output")
    _fails(["upsample", model, low, low], capsys, 2, "is the INPUT file")
    assert files["model"].read_bytes() == before


# ---------------------------------------------------------------------- usage, bugs, --debug
@pytest.mark.parametrize(
    "argv",
    [[], ["bogus"], ["models", "--task", "bogus"], ["train", "--size", "huge"], ["upsample", "m"]],
)
def test_argparse_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert re.search(r"^tsfilm.*: error: ", capsys.readouterr().err, flags=re.M)


def test_demo_output_that_is_a_file(files, capsys):
    _fails(["demo", "--out", str(files["low"])], capsys, 2, "is a file; give a folder")


def test_debug_lets_the_exception_through_before_or_after_the_command(files, tmp_path):
    argv = [str(files["garbage"]), str(files["low"]), str(tmp_path / "out.wav")]
    with pytest.raises(ValueError, match="not a tsfilm model file"):
        main(["--debug", "upsample", *argv])
    with pytest.raises(ValueError, match="not a tsfilm model file"):
        main(["upsample", *argv, "--debug"])


def test_a_bug_shows_its_traceback_and_says_so(monkeypatch, capsys):
    def broken(task=None):
        raise RuntimeError("something inside tsfilm broke")

    monkeypatch.setattr("tsfilm.registry.format_models", broken)
    with pytest.raises(SystemExit) as info:
        main(["models"])
    err = capsys.readouterr().err
    assert info.value.code == 1
    assert "Traceback" in err and "something inside tsfilm broke" in err
    assert re.search(r"tsfilm models: error: unexpected RuntimeError; this is a bug", err)
    with pytest.raises(RuntimeError, match="broke"):
        main(["models", "--debug"])


def test_the_installed_command_exit_status_and_traceback(files, tmp_path):
    """As a process: one line and status 1; with --debug, the traceback."""
    argv = ["upsample", str(files["garbage"]), str(files["low"]), str(tmp_path / "o.wav")]
    code = "import sys; from tsfilm.cli import main; sys.exit(main())"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for debug in ([], ["--debug"]):
        done = subprocess.run(
            [sys.executable, "-c", code, *debug, *argv], capture_output=True, text=True, env=env
        )
        assert done.returncode == 1
        if debug:
            assert "Traceback" in done.stderr and "ValueError" in done.stderr
        else:
            assert re.fullmatch(
                r"tsfilm upsample: error: .*not a tsfilm model file.*\n", done.stderr
            )
