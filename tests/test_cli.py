"""The ``tsfilm`` command line: models, train, upsample."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile

from tsfilm import TFiLMSuperResolver, load
from tsfilm.cli import main
from tsfilm.io.audio import write_audio

HIGH_RATE = 16000


def _tone(seconds: float, rate: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """A few harmonics with a slow vibrato, shape (channels, n), within [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    base = rng.uniform(150, 300) * (1 + 0.02 * np.sin(2 * np.pi * 3 * t))
    phase = 2 * np.pi * np.cumsum(base) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 6)) / 3
    return np.stack([x * (0.9 - 0.2 * c) for c in range(channels)]).astype(np.float32)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model trained with ``tsfilm train`` on a folder of generated wav files."""
    root = tmp_path_factory.mktemp("cli")
    folder = root / "audio"
    folder.mkdir()
    for i in range(3):
        write_audio(folder / f"clip{i}.wav", _tone(0.5, HIGH_RATE, seed=i), HIGH_RATE)
    path = root / "model.tsfilm"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TSFILM_CACHE_DIR", str(root / "cache"))
        status = main(
            [
                "train",
                str(folder),
                "--size",
                "tiny",
                "--epochs",
                "1",
                "--patch-length",
                "512",
                "-o",
                str(path),
                "-q",
            ]
        )
    assert status == 0
    return path


def test_models_lists_every_model_with_task_and_source(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    rows = {tuple(line.split()[:2]): line for line in out.splitlines()[1:]}
    assert out.splitlines()[0].split() == ["task", "name", "class", "source"]
    assert rows[("super_resolution", "tfilm")].endswith("tsfilm")
    for name in ("spline", "dnn", "conv"):
        assert "entry point baselines = tsfilm_baselines" in rows[("super_resolution", name)]


def test_models_filters_by_task_and_refuses_unknown_tasks(capsys):
    assert main(["models", "--task", "super_resolution"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    assert lines and all(line.startswith("super_resolution") for line in lines)
    with pytest.raises(SystemExit) as info:
        main(["models", "--task", "translation"])
    assert info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_train_writes_a_model_that_knows_its_rate(model_file, capsys):
    import tsfilm

    est = tsfilm.load(model_file)
    assert isinstance(est, TFiLMSuperResolver)
    assert (est.ratio_, est.sample_rate, est.patch_length, est.n_epochs_) == (4, 16000, 512, 1)


def test_train_stops_at_max_time(tmp_path, capsys):
    folder = tmp_path / "audio"
    folder.mkdir()
    write_audio(folder / "clip.wav", _tone(2.0, HIGH_RATE), HIGH_RATE)
    path = tmp_path / "budget.tsfilm"
    args = ["train", str(folder), "--size", "tiny", "--patch-length", "512", "--epochs", "1000"]
    assert main([*args, "--max-time", "0.5", "-o", str(path), "-q"]) == 0
    loaded = load(path)
    assert 1 <= loaded.n_epochs_ < 1000 and loaded.max_time == 0.5


def test_upsample_writes_the_high_rate_file(model_file, tmp_path, capsys):
    low = tmp_path / "in.wav"
    write_audio(low, _tone(0.3, HIGH_RATE // 4), HIGH_RATE // 4)  # 1200 samples at 4 kHz
    out = tmp_path / "out.wav"
    assert main(["upsample", str(model_file), str(low), str(out)]) == 0
    info = soundfile.info(out)
    assert (info.samplerate, info.frames, info.channels) == (HIGH_RATE, 4800, 1)
    assert "1 channel(s), 0.30 s at 16000 Hz" in capsys.readouterr().out


def test_upsample_refuses_another_rate_unless_told_to_resample(model_file, tmp_path, capsys):
    low = tmp_path / "in8k.wav"
    write_audio(low, _tone(0.25, 8000), 8000)  # 2000 samples at 8 kHz
    out = tmp_path / "out.wav"
    status, err = _fails(["upsample", str(model_file), str(low), str(out)], capsys)
    assert status == 2
    assert re.search(r"at 8000 Hz but the model expects 4000 Hz.*--resample", err)
    assert not out.exists()
    assert main(["upsample", str(model_file), str(low), str(out), "--resample"]) == 0
    info = soundfile.info(out)
    assert (info.samplerate, info.frames) == (HIGH_RATE, 4000)


def test_upsample_multichannel_file_channel_by_channel(model_file, tmp_path):
    low = tmp_path / "stereo.wav"
    audio = _tone(0.2, HIGH_RATE // 4, channels=2)
    write_audio(low, audio, HIGH_RATE // 4)
    out = tmp_path / "stereo_out.wav"
    assert main(["upsample", str(model_file), str(low), str(out)]) == 0
    data, rate = soundfile.read(out, always_2d=True)
    assert rate == HIGH_RATE
    assert data.shape == (4 * audio.shape[-1], 2)
    # The two channels are the same tone at different levels, and stay so.
    assert np.corrcoef(data[:, 0], data[:, 1])[0, 1] > 0.99


def test_bad_files_give_a_message_not_a_traceback(model_file, tmp_path, capsys):
    bogus = tmp_path / "bogus.tsfilm"
    bogus.write_bytes(b"nothing")
    low = tmp_path / "a.wav"
    write_audio(low, _tone(0.1, HIGH_RATE // 4), HIGH_RATE // 4)
    status, err = _fails(["upsample", str(bogus), str(low), str(tmp_path / "b.wav")], capsys)
    assert status == 1
    assert re.fullmatch(r"tsfilm upsample: error: .*not a tsfilm model file.*\n", err)
    status, err = _fails(["train", str(tmp_path / "missing"), "-q"], capsys)
    assert status == 2
    assert re.fullmatch(r"tsfilm train: error: SOURCE folder .*missing does not exist\.\n", err)
    status, err = _fails(["train", str(bogus), "-q"], capsys)
    assert (status, "is not a folder" in err) == (2, True)
    status, err = _fails(["train", "-q"], capsys)
    assert status == 2
    assert "give a folder of wav/flac files" in err and "--voices" in err


def _fails(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str]:
    """Run the command, which must fail; return its exit status and stderr."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return info.value.code, err
