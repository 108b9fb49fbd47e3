"""Decode the bytes shops' tools write: UTF-8 (with or without BOM), UTF-16 with BOM, GB18030/GBK."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from ..errors import InputError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str  # the codec to write the text back with (BOM included where there was one)


def decode(data: bytes, path: str, encoding: str | None = None) -> Decoded:
    """Decode ``data``; ``encoding`` overrides detection. Errors name the file and byte offset."""
    if encoding:
        return _strict(data, path, _check_codec(encoding))
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _strict(data, path, codec)
    if b"\x00" in data[:4096]:
        raise InputError(f"{path}: looks like a binary file (NUL bytes); not a text file kefu-lint can read")
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError as utf8_error:
        try:
            # Excel and Windows CS tools in mainland China write GBK; GB18030 is its superset.
            return Decoded(data.decode("gb18030"), "gb18030")
        except UnicodeDecodeError:
            detected = _detect(data)
            if detected:
                return _strict(data, path, detected)
            raise InputError(
                f"{path}: byte {utf8_error.start}: cannot decode as UTF-8 or GB18030 "
                f"({utf8_error.reason}); pass --encoding to say what the file is"
            ) from None


def _detect(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a base dependency
        return None
    best = from_bytes(data[:65536]).best()
    return best.encoding if best is not None else None


def _check_codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise InputError(f"unknown encoding {name!r}") from None


def _strict(data: bytes, path: str, codec: str) -> Decoded:
    try:
        return Decoded(data.decode(codec), codec)
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: byte {error.start}: cannot decode as {codec} ({error.reason})") from None


def encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding)
