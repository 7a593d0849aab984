"""``tsfilm upsample --stream``: PCM from stdin to stdout with a causal model."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest

from tsfilm import TFiLMSuperResolver
from tsfilm.cli import main


def _fit(tmp_path, causal: bool):
    t = np.arange(8192) / 16000
    high = np.stack([np.sin(2 * np.pi * (200 + 50 * k) * t) for k in range(4)]) * 0.3
    est = TFiLMSuperResolver(
        ratio=2,
        causal=causal,
        depth=2,
        width=0.05,
        max_filters=16,
        block_length=32,
        patch_length=1024,
        max_epochs=1,
        random_state=0,
        sample_rate=16000,
    ).fit(high.astype(np.float32))
    path = tmp_path / "model.tsfilm"
    est.save(path)
    return est, path, high[0, ::2]


class _Stdio:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def _run(monkeypatch, argv, data: bytes) -> tuple[int, bytes]:
    out = io.BytesIO()

    class Stdout:
        buffer = out

        def fileno(self):  # pragma: no cover - only on a broken pipe
            return 1

        def write(self, text):
            return len(text)

        def flush(self):
            pass

    monkeypatch.setattr(sys, "stdin", _Stdio(data))
    monkeypatch.setattr(sys, "stdout", Stdout())
    try:
        status = main(argv)
    except SystemExit as exit_:  # errors leave through SystemExit with their status
        status = exit_.code
    return status, out.getvalue()


def test_stream_writes_twice_the_samples_of_the_stream_api(tmp_path, monkeypatch):
    est, path, low = _fit(tmp_path, causal=True)
    pcm = np.round(low * 32767).astype("<i2")
    status, out = _run(monkeypatch, ["upsample", "--stream", "--model", str(path)], pcm.tobytes())
    assert status == 0
    streamed = np.frombuffer(out, dtype="<i2")
    assert streamed.size == 2 * pcm.size
    stream = est.stream()
    x = pcm.astype(np.float32) / 32768
    expected = np.concatenate([stream.process(x), stream.flush()], axis=-1).ravel()
    expected = np.clip(np.round(expected * 32768), -32768, 32767)
    assert np.abs(streamed.astype(np.float64) - expected).max() <= 1


def test_stream_refuses_an_offline_model(tmp_path, monkeypatch, capsys):
    _, path, _ = _fit(tmp_path, causal=False)
    status, _ = _run(monkeypatch, ["upsample", str(path), "--stream"], b"")
    assert status == 2
    assert "not a causal" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["upsample", "--stream", "--ratio", "3"],
            "No pretrained causal speech model with ratio 3",
        ),
        (["upsample", "m.tsfilm", "in.wav", "out.wav", "--stream"], "drop INPUT/OUTPUT"),
        (["upsample", "in.wav"], "give INPUT and OUTPUT"),
    ],
)
def test_stream_usage_errors(monkeypatch, capsys, argv, message):
    status, _ = _run(monkeypatch, argv, b"")
    assert status == 2
    assert message in capsys.readouterr().err


def test_stream_without_a_model_uses_the_pretrained_causal_one(monkeypatch, capsys):
    from tsfilm import pretrained

    t = np.arange(1600) / 8000
    pcm = np.round(0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype("<i2")
    status, out = _run(monkeypatch, ["upsample", "--stream", "--input-rate", "8000"], pcm.tobytes())
    assert status == 0
    assert "pretrained causal model speech-r2-causal" in capsys.readouterr().err
    streamed = np.frombuffer(out, dtype="<i2").astype(np.float32) / 32768
    assert streamed.size == 2 * pcm.size
    est = pretrained.load("speech-r2-causal")
    stream = est.stream()
    x = pcm.astype(np.float32) / 32768
    expected = np.concatenate([stream.process(x), stream.flush()], axis=-1).ravel()
    assert np.abs(streamed - expected).max() <= 2 / 32768
