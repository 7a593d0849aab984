"""The pretrained models that ship in ``tsfilm/pretrained/``, and ``tsfilm upsample`` with them."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st

import tsfilm
from tsfilm import TFiLMSuperResolver, pretrained
from tsfilm.cli import main
from tsfilm.io.audio import write_audio

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = {  # name: (data, rate in, rate out, ratio)
    "speech-r2": ("speech", 8000, 16000, 2),
    "speech-r4": ("speech", 4000, 16000, 4),
    "piano-r4": ("piano", 4000, 16000, 4),
    "speech-r2-causal": ("speech", 8000, 16000, 2),
}


def _tone(seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    """A voiced-like tone (a few harmonics of 150-300 Hz), shape (channels, n)."""
    t = np.arange(round(seconds * rate)) / rate
    phase = 2 * np.pi * np.cumsum(200 * (1 + 0.05 * np.sin(2 * np.pi * 3 * t))) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 6)) / 3
    return np.stack([x * (0.8 - 0.3 * c) for c in range(channels)]).astype(np.float32)


# ------------------------------------------------------------------ the shipped files
def test_every_model_ships_with_its_card_and_fits_the_size_budget():
    models = pretrained.list_pretrained()
    assert list(models) == list(EXPECTED)
    for name, m in models.items():
        assert (m.data, m.rate_in, m.rate_out, m.ratio) == EXPECTED[name]
        assert m.task == "super_resolution"
        assert m.size == m.path.stat().st_size <= 8 * 2**20
    assert sum(m.size for m in models.values()) <= 20 * 2**20


@pytest.mark.parametrize("name", list(EXPECTED))
def test_card_documents_data_training_and_results(name):
    text = pretrained.card(name)
    for heading in ("## Data", "## Training", "## Test results"):
        assert heading in text
    assert f"benchmarks/pretrain.py --model {name}" in text
    assert "CC-BY" in text if name.startswith("speech") else "MIT" in text
    assert re.search(r"\| TFiLM \(shipped\) \| -?\d+\.\d\d \| \d+\.\d\d \|", text)
    metrics = pretrained.list_pretrained()[name].metrics
    assert {"tfilm", "spline"} <= set(metrics)
    assert all(np.isfinite(v) for row in metrics.values() for v in row.values())
    # The shipped network improves on its own input, the cubic spline, on unseen data.
    assert metrics["tfilm"]["snr"] > metrics["spline"]["snr"]
    assert metrics["tfilm"]["lsd"] < metrics["spline"]["lsd"]


@pytest.mark.parametrize("name", list(EXPECTED))
def test_model_loads_and_predicts_finite_output_of_the_right_length(name):
    _, rate_in, rate_out, ratio = EXPECTED[name]
    est = pretrained.load(name)
    assert isinstance(est, TFiLMSuperResolver)
    assert (est.ratio_, est.sample_rate, est.n_channels_) == (ratio, rate_out, 1)
    low = _tone(0.3, rate_in)[0]
    out = est.upsample(low)
    assert out.shape == (low.shape[0] * ratio,) and out.dtype == np.float32
    assert np.isfinite(out).all()
    # Close to the tone at the high rate: the model does not make noise out of a clean input.
    reference = _tone(0.3, rate_out)[0][: out.shape[0]]
    assert np.corrcoef(out[200:-200], reference[200:-200])[0, 1] > 0.9


@settings(max_examples=8, deadline=None)
@given(n_low=st.integers(1, 3000), channels=st.integers(1, 2))
def test_output_length_is_input_length_times_ratio(n_low, channels):
    est = _cached_model("speech-r2")
    x = np.random.default_rng(n_low).normal(scale=0.1, size=(channels, 1, n_low))
    before = x.copy()
    y = est.predict(x.astype(np.float32))
    assert y.shape == (channels, 1, 2 * n_low) and np.isfinite(y).all()
    np.testing.assert_array_equal(x, before)


_MODELS: dict[str, TFiLMSuperResolver] = {}


def _cached_model(name: str) -> TFiLMSuperResolver:
    if name not in _MODELS:
        _MODELS[name] = pretrained.load(name)
    return _MODELS[name]


def test_load_sets_parameters_and_refuses_unknown_names():
    est = pretrained.load("speech-r4", device="cpu", chunk_length=2048)
    assert (est.device, est.chunk_length) == ("cpu", 2048)
    with pytest.raises(ValueError, match=r"No pretrained model 'speech-r3'.*speech-r2"):
        pretrained.load("speech-r3")
    with pytest.raises(TypeError, match="name must be a str"):
        pretrained.load(4)
    with pytest.raises(ValueError, match="max_epochs"):
        pretrained.load("speech-r4", max_epochs=0)
    with pytest.raises(ValueError, match="No pretrained model"):
        pretrained.card("../pyproject")


def test_fine_tuning_with_warm_start_continues_the_pretrained_network():
    est = pretrained.load("speech-r4")
    weights = {k: v.clone() for k, v in est.module_.state_dict().items()}
    epochs, history = est.n_epochs_, list(est.history_)
    high = np.stack([_tone(0.6, 16000)[0], 0.5 * _tone(0.6, 16000)[0][::-1]])
    est.set_params(warm_start=True, max_epochs=1, random_state=0, n_threads=1)
    est.fit(high)
    assert est.n_epochs_ == epochs + 1 and est.history_[:epochs] == history
    assert est.ratio_ == 4 and est.sample_rate == 16000
    changed = [k for k, v in est.module_.state_dict().items() if not np.array_equal(v, weights[k])]
    assert changed  # the same network, trained further, not a new one
    assert est.predict(high[:, ::4]).shape == high.shape
    with pytest.raises(ValueError, match="ratio=4 but the shapes of X and y give ratio 2"):
        est.fit(high[:, ::2], high)


def test_a_copy_of_the_folder_works_and_missing_files_are_left_out(tmp_path, monkeypatch):
    copy = tmp_path / "pretrained"
    shutil.copytree(pretrained.PRETRAINED_DIR, copy, ignore=shutil.ignore_patterns("*.py*"))
    (copy / "piano-r4.tsfilm").unlink()
    monkeypatch.setattr(pretrained, "PRETRAINED_DIR", copy)
    assert list(pretrained.list_pretrained()) == ["speech-r2", "speech-r4", "speech-r2-causal"]
    assert pretrained.load("speech-r2").ratio_ == 2
    with pytest.raises(FileNotFoundError, match=r"piano-r4\.tsfilm is missing"):
        pretrained.load("piano-r4")
    with pytest.raises(ValueError, match=r"No pretrained piano model.*speech-r2"):
        pretrained.for_audio(4000, data="piano")


# ------------------------------------------------------------------ for_audio
@pytest.mark.parametrize(
    ("rate", "ratio", "data", "name"),
    [
        (8000, None, "speech", "speech-r2"),
        (4000, None, "speech", "speech-r4"),
        (8000, 2, "speech", "speech-r2"),
        (8000, 4, "speech", "speech-r4"),
        (11025, None, "speech", "speech-r2"),
        (6000, None, "speech", "speech-r4"),
        (2000, None, "speech", "speech-r4"),
        (4000, None, "piano", "piano-r4"),
        (8000, None, "piano", "piano-r4"),
    ],
)
def test_for_audio_picks_the_model(rate, ratio, data, name):
    assert pretrained.for_audio(rate, ratio, data=data) == name


def test_for_audio_picks_the_causal_model_for_streaming():
    assert pretrained.for_audio(8000, causal=True) == "speech-r2-causal"
    assert pretrained.for_audio(11025, 2, causal=True) == "speech-r2-causal"
    info = pretrained.list_pretrained()["speech-r2-causal"]
    assert info.causal and info.lookahead == 32
    assert not pretrained.list_pretrained()["speech-r2"].causal
    est = pretrained.load("speech-r2-causal")
    assert est.causal and est.lookahead == 32
    with pytest.raises(ValueError, match="No pretrained causal speech model with ratio 4"):
        pretrained.for_audio(4000, 4, causal=True)
    with pytest.raises(ValueError, match="No pretrained causal piano model"):
        pretrained.for_audio(4000, data="piano", causal=True)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"rate": 8000, "ratio": 3}, r"No pretrained speech model with ratio 3.*speech-r2 \("),
        ({"rate": 4000, "ratio": 2, "data": "piano"}, "No pretrained piano model with ratio 2"),
        ({"rate": 16000}, "already at or above the 16000 Hz"),
        ({"rate": 44100, "ratio": 2}, "already at or above"),
        ({"rate": 8000, "data": "music"}, "data must be one of"),
        ({"rate": 0}, "rate must be a positive int"),
        ({"rate": 8000.0}, "rate must be a positive int"),
        ({"rate": 8000, "ratio": 1}, "ratio must be an int >= 2"),
    ],
)
def test_for_audio_explains_what_exists(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        pretrained.for_audio(**kwargs)


@settings(max_examples=30, deadline=None)
@given(rate=st.integers(1, 40000), ratio=st.sampled_from([None, 2, 4]))
def test_for_audio_never_picks_a_model_that_would_lower_the_output_rate(rate, ratio):
    models = pretrained.list_pretrained()
    try:
        name = pretrained.for_audio(rate, ratio)
    except ValueError:
        assert rate >= 16000
        return
    m = models[name]
    assert m.data == "speech" and rate < m.rate_out
    assert ratio in (None, m.ratio)
    # The input rate that loses least: the exact one, else the highest below the audio's.
    below = [o.rate_in for o in models.values() if o.data == "speech" and o.rate_in <= rate]
    if ratio is None and below:
        assert m.rate_in == max(below)


# ------------------------------------------------------------------ the command line
def _run(argv: list[str], capsys) -> tuple[str, str]:
    assert main(argv) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_upsample_without_a_model_uses_the_pretrained_one(tmp_path, capsys):
    low = tmp_path / "call-8k.wav"
    write_audio(low, _tone(0.5, 8000), 8000)
    before = low.read_bytes()
    out = tmp_path / "call-16k.wav"
    _, err = _run(["upsample", str(low), str(out)], capsys)
    assert "pretrained model speech-r2 (8000 Hz -> 16000 Hz)" in err
    info = soundfile.info(out)
    assert (info.samplerate, info.frames, info.channels) == (16000, 8000, 1)
    assert low.read_bytes() == before


def test_upsample_stereo_up_samples_each_channel(tmp_path, capsys):
    low = tmp_path / "stereo-4k.wav"
    audio = _tone(0.5, 4000, channels=2)
    write_audio(low, audio, 4000)
    out = tmp_path / "stereo-16k.flac"
    _, err = _run(["upsample", str(low), str(out)], capsys)
    assert "speech-r4" in err
    data, rate = soundfile.read(out, always_2d=True)
    assert rate == 16000 and data.shape == (4 * audio.shape[-1], 2)
    # The channels are one tone at two levels, and stay so.
    assert np.corrcoef(data[:, 0], data[:, 1])[0, 1] > 0.99
    assert np.std(data[:, 1]) < np.std(data[:, 0])


def test_upsample_resamples_other_rates_and_says_so(tmp_path, capsys):
    low = tmp_path / "in.wav"
    write_audio(low, _tone(0.4, 11025), 11025)
    out = tmp_path / "out.wav"
    _, err = _run(["upsample", str(low), str(out)], capsys)
    assert "speech-r2" in err and "from 11025 Hz to 8000 Hz" in err
    assert soundfile.info(out).samplerate == 16000
    _, err = _run(["upsample", str(low), str(out), "--ratio", "4"], capsys)
    assert "speech-r4" in err and "from 11025 Hz to 4000 Hz" in err
    assert soundfile.info(out).frames == 4 * round(0.4 * 4000)


def test_an_explicit_model_wins(tmp_path, capsys):
    low = tmp_path / "in.wav"
    write_audio(low, _tone(0.3, 4000), 4000)
    out = tmp_path / "out.wav"
    _, err = _run(["upsample", str(low), str(out), "--model", "piano-r4"], capsys)
    assert "pretrained" not in err and soundfile.info(out).frames == 4800
    model = tmp_path / "m.tsfilm"
    shutil.copy(pretrained.model_path("speech-r4"), model)
    assert main(["upsample", str(model), str(low), str(out)]) == 0  # the MODEL argument
    assert main(["upsample", "speech-r4", str(low), str(out)]) == 0  # a name as MODEL
    # An explicit model keeps the rule of model files: another rate needs --resample.
    low8k = tmp_path / "in8k.wav"
    write_audio(low8k, _tone(0.3, 8000), 8000)
    with pytest.raises(SystemExit) as info:
        main(["upsample", str(low8k), str(out), "--model", "speech-r4"])
    assert info.value.code == 2 and "--resample" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        (["--ratio", "3"], r"No pretrained speech model with ratio 3.*--model"),
        (["--ratio", "2", "--model", "speech-r4"], "--ratio 2 but MODEL .* up-samples by 4"),
        (["--model", "nope-r9"], "MODEL .*nope-r9 does not exist"),
    ],
)
def test_upsample_errors_are_one_line(tmp_path, capsys, extra, pattern):
    low = tmp_path / "in.wav"
    write_audio(low, _tone(0.2, 8000), 8000)
    out = tmp_path / "out.wav"
    with pytest.raises(SystemExit) as info:
        main(["upsample", str(low), str(out), *extra])
    err = capsys.readouterr().err
    assert info.value.code == 2 and len(err.splitlines()) == 1
    assert re.fullmatch(rf"tsfilm upsample: error: .*{pattern}.*\n", err)
    assert not out.exists()


def test_upsample_refuses_a_model_given_twice(tmp_path, capsys):
    low = tmp_path / "in.wav"
    write_audio(low, _tone(0.2, 8000), 8000)
    with pytest.raises(SystemExit) as info:
        main(["upsample", "speech-r2", str(low), str(tmp_path / "o.wav"), "--model", "speech-r2"])
    assert info.value.code == 2 and "give the model once" in capsys.readouterr().err


def test_upsample_shows_progress_on_long_files(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("tsfilm.cli._PROGRESS_SECONDS", 0.5)
    low = tmp_path / "long.wav"
    write_audio(low, _tone(2.0, 8000, channels=2), 8000)
    out = tmp_path / "out.wav"
    _, err = _run(["upsample", str(low), str(out), "--model", "speech-r2", "--resample"], capsys)
    percents = [int(p) for p in re.findall(r"(\d+)% of 2 s done", err)]
    assert percents and percents == sorted(percents) and percents[-1] == 100
    # The progress wrapper leaves the output as predict makes it.
    est = pretrained.load("speech-r2")
    audio, _ = soundfile.read(low, always_2d=True, dtype="float32")
    expected = est.predict(audio.T[:, None, :])[:, 0, :]
    np.testing.assert_allclose(soundfile.read(out, always_2d=True)[0].T, expected, atol=1e-4)


def test_models_pretrained_lists_rates_sizes_and_snr(capsys):
    out, _ = _run(["models", "--pretrained"], capsys)
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["name", "data"] and "spline SNR dB" in lines[0]
    for name, (_, rate_in, rate_out, _) in EXPECTED.items():
        row = next(line for line in lines if line.startswith(name + " "))
        assert f"{rate_in} -> {rate_out}" in row and re.search(r"\d\.\d MiB", row)
        snr = pretrained.list_pretrained()[name].metrics["tfilm"]["snr"]
        assert f"{snr:.2f}" in row
    assert "tfilm" in _run(["models"], capsys)[0]  # the registry listing is unchanged


# ------------------------------------------------------------------ reproducing
@contextlib.contextmanager
def pretrain_script():
    """benchmarks/pretrain.py as the module ``pretrain`` (its dataclasses look it up)."""
    spec = importlib.util.spec_from_file_location("pretrain", ROOT / "benchmarks" / "pretrain.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["pretrain"] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules["pretrain"]


@pytest.mark.slow
@pytest.mark.skipif(
    not Path("/usr/share/asterisk/sounds/it_IT_m_Carlo").is_dir()
    or importlib.util.find_spec("G722") is None,
    reason="needs the Debian speech prompts and the g722 package",
)
def test_pretrain_quick_writes_a_model_and_its_card(tmp_path):
    with pretrain_script() as module:
        argv = ["--model", "speech-r4", "--quick", "--conv-minutes", "0.02", "--verbose", "0"]
        argv += ["--out", str(tmp_path / "out"), "--work", str(tmp_path / "work")]
        assert module.main([*argv, "--minutes", "0.05"]) == 0
        state = json.loads((tmp_path / "work" / "speech-r4-quick.json").read_text())
        assert 3 <= state["trained_seconds"] < 10 and state["chunks"]
        # An interrupted (here: extended) run continues from its checkpoint.
        assert module.main([*argv, "--minutes", "0.1", "--resume"]) == 0
        resumed = json.loads((tmp_path / "work" / "speech-r4-quick.json").read_text())
        assert resumed["chunks"][: len(state["chunks"])] == state["chunks"]
        assert len(resumed["chunks"]) > len(state["chunks"]) and resumed["trained_seconds"] >= 5.5
        assert resumed["chunks"][-1]["epochs"] > state["chunks"][-1]["epochs"]
        assert resumed["resumed"] == [round(state["trained_seconds"], 1)]
        # A resume with other settings than the run's is refused.
        for other in (["--seed", "5"], ["--set", "depth=3"], ["--speed-factors", "0.9"]):
            with pytest.raises(SystemExit, match="other settings"):
                module.main([*argv, "--minutes", "0.2", "--resume", *other])
    model = tsfilm.load(tmp_path / "out" / "speech-r4.tsfilm")
    assert isinstance(model, TFiLMSuperResolver) and model.ratio_ == 4
    assert model.warm_start is False and model.max_time is None
    text = (tmp_path / "out" / "speech-r4.md").read_text()
    meta = pretrained._front_matter(text)
    assert (meta["rate_in"], meta["rate_out"], meta["ratio"]) == (4000, 16000, 4)
    assert {"tfilm", "spline", "conv"} <= set(meta["metrics"])
    assert "python benchmarks/pretrain.py --model speech-r4" in text and "--quick" in text
    assert "it_IT_m_Carlo" in text and "CC-BY-3.0" in text
    assert "resumed (`--resume`) after" in text and meta["training"]["resumed_after"]
    # The checkpoints let an interrupted run continue.
    assert (tmp_path / "work" / "speech-r4-quick.last.tsfilm").is_file()
    # --score scores that file and the spline again, on validation and test, training nothing.
    with pretrain_script() as module:
        out = ["--out", str(tmp_path / "out")]
        args = module.parse_args(["--model", "speech-r4", "--quick", *out])
        rows = module.score(module.SPECS["speech-r4"], args)
        table = module.score_table(rows)
    assert [r["split"] for r in rows] == ["validation", "test"]
    test = rows[1]
    assert test["tfilm"]["snr"] == pytest.approx(meta["metrics"]["tfilm"]["snr"], abs=1e-4)
    assert test["spline"]["snr"] == pytest.approx(meta["metrics"]["spline"]["snr"], abs=1e-4)
    assert test["gain"] == pytest.approx(test["tfilm"]["snr"] - test["spline"]["snr"])
    assert table.count("\n| speech-r4 |") == 2 and f"{test['gain']:+.2f}" in table


def test_pretrain_settings_and_speed_copies_reach_the_network_data_and_card(monkeypatch):
    """--set changes the network (JSON values, bare words as strings), --speed-factors adds
    slowed copies of the training signals only, and the card's command repeats both."""
    with pretrain_script() as module:
        spec = module.SPECS["speech-r4"]
        argv = ["--model", spec.name, "--set", "up_activation=leaky_relu", "--set", "depth=3"]
        args = module.parse_args([*argv, "--speed-factors", "0.8", "1"])
        network = module.network_of(spec, args)
        assert network["up_activation"] == "leaky_relu" and network["depth"] == 3
        assert module.build("conv", spec, args).up_activation == "leaky_relu"
        assert module.speed_factors_of(spec, args) == (0.8,)
        command = args.argv_for(spec.name)
        assert command[command.index("--speed-factors") + 1] == "0.8"
        assert "up_activation=leaky_relu" in command and "depth=3" in command
        assert module.speed_factors_of(spec, module.parse_args(["--model", spec.name])) == ()
        for bad in (["--set", "up_activation"], ["--speed-factors", "9"]):
            with pytest.raises(SystemExit):
                module.parse_args(["--model", spec.name, *bad])

        # an empty prompt (the data have one) is dropped, not perturbed
        signals = [_tone(0.5, 16000)[0], _tone(0.25, 16000)[0], np.zeros(0, np.float32)]

        def fake_speech(voice, max_files=None):
            return types.SimpleNamespace(signals=[s.copy() for s in signals])

        monkeypatch.setattr("tsfilm.datasets.load_speech", fake_speech)
        plain = module.load_data(spec, quick=True)
        data = module.load_data(spec, quick=True, speed_factors=(0.8,))
    assert len(data.train) == 2 * len(plain.train) and len(data.valid) == len(plain.valid)
    assert len(data.test) == len(plain.test)
    for original, slowed in zip(plain.train, data.train[len(plain.train) :], strict=True):
        assert slowed.shape[-1] == round(original.shape[-1] / 0.8)
    assert "also at speed 0.8" in data.description["train"]


def test_pretrain_starts_the_causal_model_from_the_offline_one(tmp_path):
    """speech-r2-causal trains on from speech-r2's weights, rebuilt as a causal network."""
    with pretrain_script() as module:
        causal = module.SPECS["speech-r2-causal"]
        args = module.parse_args(["--model", causal.name, "--out", str(tmp_path)])
        est = module.start_from(causal.init, module.build("tfilm", causal, args), args)
    offline = pretrained.load("speech-r2")
    weights = {k: v.clone() for k, v in offline.module_.state_dict().items()}
    assert est.causal and est.lookahead == causal.lookahead and est.warm_start
    est.set_params(max_time=None, max_epochs=1, learning_rate=1e-12, verbose=0)
    high = [_tone(0.6, 16000)[0] * (k + 1) / 3 for k in range(3)]
    est.fit([x[::2] for x in high], high)
    assert est.module_.causal and est.module_.lookahead == causal.lookahead
    for key, value in est.module_.state_dict().items():
        np.testing.assert_allclose(value.numpy(), weights[key].numpy(), atol=1e-6)
    stream = est.stream()
    low = high[0][::2]
    parts = [stream.process(low[:777]), stream.process(low[777:]), stream.flush()]
    np.testing.assert_allclose(np.concatenate(parts), est.upsample(low), atol=1e-4)
