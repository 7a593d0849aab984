"""Reading and writing: audio files and tsfilm model files."""

from tsfilm.io.audio import read_audio, resample_audio, write_audio
from tsfilm.io.model_file import load, save

__all__ = ["load", "read_audio", "resample_audio", "save", "write_audio"]
