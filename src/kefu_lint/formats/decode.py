"""Decode the bytes shops' tools write: UTF-8 (with or without BOM), UTF-16 with BOM, GB18030/GBK."""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from ..errors import ConfigError, InputError

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
    except UnicodeDecodeError as error:
        utf8_error = error
    # UTF-8 but for a few bytes is UTF-8 with an error at a byte offset: GB18030 (which takes
    # almost any byte pair) or a charset guess (cp855, cp932) would read mojibake and miss
    # every red reply.
    if not _mostly_utf8(data):
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
    )


#: What a charset guess may pick for a file that is neither UTF-8 nor GB18030: the Big5
#: family that Traditional Chinese tools (Taiwan, Hong Kong) write. Whatever else it "finds"
#: in a short Chinese file (cp855, cp932, cp1251 …) is mojibake, not the file's encoding:
#: reading it so would check garbage and miss every red reply.
GUESSABLE_ENCODINGS = frozenset({"big5", "big5hkscs", "cp950"})


def _mostly_utf8(data: bytes) -> bool:
    """True when the bytes are UTF-8 but for a few bad ones: more characters decode as
    multi-byte UTF-8 than fail to. Such a file is UTF-8 with an error at a byte offset,
    never another encoding."""
    decoded = data.decode("utf-8", errors="replace")
    failed = decoded.count("\ufffd")
    decoded_non_ascii = sum(1 for char in decoded if not char.isascii()) - failed
    return decoded_non_ascii > failed


def _detect(data: bytes) -> str | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a base dependency
        return None
    best = from_bytes(data[:65536]).best()
    if best is None or codecs.lookup(best.encoding).name not in GUESSABLE_ENCODINGS:
        return None
    return best.encoding


def text_encoding(name: object) -> str:
    """The codec's canonical name, when ``name`` names a text encoding Python has.

    base64, rot13 and friends are codecs too, but not text encodings: decoding with them
    fails in the middle of a run, so they are refused with the unknown names, up front.
    """
    try:
        info = codecs.lookup(name) if isinstance(name, str) else None
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise ConfigError(f"unknown encoding {name!r}: not a text encoding; give one such as utf-8, gb18030, gbk, big5 or utf-16")
    return info.name


def _check_codec(name: str) -> str:
    try:
        return text_encoding(name)
    except ConfigError as error:
        raise InputError(str(error)) from None


def _strict(data: bytes, path: str, codec: str) -> Decoded:
    try:
        return Decoded(data.decode(codec), codec)
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: byte {error.start}: cannot decode as {codec} ({error.reason})") from None


def encode(text: str, encoding: str) -> bytes:
    return text.encode(encoding)


def printable_name(name: str) -> str:
    """A file name as text that can be printed, stored and written as JSON: a name whose bytes
    are not UTF-8 (Python keeps them as lone surrogates) shows them as ``\\xff`` escapes, so two
    such files stay apart and the name never breaks a writer or the database."""
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        pass
    try:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no undecodable byte stands for
        return name.encode("utf-8", "backslashreplace").decode("utf-8")
