"""Reading network files as text, and the one way a file problem is reported.

A problem in a user's file becomes a :class:`~sim.config.ConfigError` whose
key is the config entry that named the file (``city.roads_file``, ...) and
whose message starts ``PATH:LINE:`` when the line is known, so the CLI prints
``cityres: configuration error: city.water_file: net.inp:12: ...`` and stops
before anything runs. Files are read whole, as bytes first: an empty file, a
binary file (a NUL byte, or bytes that are neither UTF-8 nor Latin-1 text) and
LF or CRLF line ends are settled here once for every format.
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

from sim.config import ConfigError

__all__ = ["fail", "line_of", "read_bytes", "read_lines", "read_text", "resolve"]

# Control characters other than tab, LF, CR and form feed do not occur in text files.
_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 12, 13))


def resolve(value: str) -> Path:
    """A path from the config: ``~`` expanded; relative paths are relative to the working directory."""
    return Path(value).expanduser()


def fail(key: str, path: Path, message: str, line: int | None = None) -> NoReturn:
    """Raise the ConfigError for a problem in ``path`` (at ``line``, 1-based, when known)."""
    where = f"{path}:{line}" if line else f"{path}"
    raise ConfigError(key, f"{where}: {message}")


def read_bytes(path: Path, key: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        fail(key, path, f"cannot read the file ({exc.strerror or exc})")
    if not data.strip():
        fail(key, path, "the file is empty")
    nul = data.find(b"\x00")
    if nul >= 0:
        fail(key, path, "binary data (a NUL byte), not a text network file", data.count(b"\n", 0, nul) + 1)
    return data


def read_text(path: Path, key: str) -> str:
    """The file's text: UTF-8 (a byte-order mark is dropped), else Latin-1 if it has no control bytes."""
    data = read_bytes(path, key)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        bad = next((i for i, b in enumerate(data) if bytes([b]) in _CONTROL), -1)
        if bad >= 0:
            fail(key, path, "binary data (control bytes), not a text network file", data.count(b"\n", 0, bad) + 1)
        # Comments written by older Windows tools are often Latin-1; every byte is a character there.
        return data.decode("latin-1")


def read_lines(path: Path, key: str) -> list[str]:
    """The file's lines without their line ends; LF, CRLF and CR files read alike.

    Only these three end a line (``str.splitlines`` would also split at form
    feeds and other separators, and line numbers would drift from an editor's).
    """
    text = read_text(path, key).replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def line_of(text: str, needle: str, start: int = 0) -> int | None:
    """The 1-based line on which ``needle`` first occurs in ``text`` (after ``start``), or None."""
    at = text.find(needle, start)
    return None if at < 0 else text.count("\n", 0, at) + 1
