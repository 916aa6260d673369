"""Turn archive files into text, whatever encoding the archive happens to use.

Arabic news archives mix encodings: modern exports are UTF-8 (sometimes with a
BOM), Windows tools write UTF-16 with a BOM, and older archives are in
Windows-1256.  No file declares its encoding, so we detect it per file and fall
back to cp1256 only when the bytes are not UTF-8.  Files that are not text at
all (images, archives, office documents saved with a .txt name) are refused
with a reason instead of being indexed as mojibake.
"""

from __future__ import annotations

import codecs
import pathlib
import re

__all__ = ["UnreadableFile", "clean_text", "decode_bytes", "read_text"]


class UnreadableFile(ValueError):
    """A file that cannot be turned into text; ``reason`` says why in plain English."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# C0 controls except tab, LF, CR; DEL. Used on raw decoded text to spot binary
# data. Form feed / vertical tab are rare in real text but harmless, so they
# are not counted as evidence of binary junk.
_BINARY_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# Everything clean_text() replaces with a space: all C0/C1 controls except tab
# and newline.  U+001A (SUB) marks lost characters in SaudiNewsNet, U+0002
# appears in a couple of ANT files.
_FIELD_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]+")

# More than this share of control characters means the bytes are not text.
# Random binary data decodes to ~11% controls; real text has next to none.
_MAX_CONTROL_RATIO = 0.01
_MAX_CONTROLS_ABSOLUTE = 2  # tiny files: allow a couple of stray controls
# A cp1256 decode must be mostly letters to be believed (Arabic prose is ~85%).
_MIN_LETTER_RATIO_CP1256 = 0.4
# Up to this share of undecodable sequences in otherwise-UTF-8 bytes is treated
# as damage to a UTF-8 file, not as evidence of another encoding.
_MAX_UTF8_ERROR_RATIO = 0.01

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def read_text(path: pathlib.Path) -> str:
    """Read a file as text, detecting its encoding; raise UnreadableFile if we can't.

    The reason in the exception is shown to the user in the rejects report, so
    it names the problem (permissions, binary content, empty) rather than the
    Python exception.
    """
    try:
        data = pathlib.Path(path).read_bytes()
    except PermissionError:
        raise UnreadableFile("permission denied") from None
    except IsADirectoryError:
        raise UnreadableFile("is a directory, not a file") from None
    except FileNotFoundError:
        raise UnreadableFile("file not found") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from None
    return decode_bytes(data)


def decode_bytes(data: bytes) -> str:
    """Decode bytes of unknown encoding to normalized text.

    Order matters: a BOM is decisive; otherwise valid UTF-8 wins (cp1256 can
    decode any byte string, so it can only be the last resort).  The result
    has "\\n" line ends and no NUL characters.
    """
    if not data or data.isspace():
        raise UnreadableFile("empty file")
    text = _decode(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    if not text.strip():
        raise UnreadableFile("empty file")
    return text


def clean_text(text: str) -> str:
    """Replace control characters (except tab and newline) with a space.

    Archives carry stray controls (U+001A where a character was lost, U+0002)
    that would otherwise end up inside indexed terms and snippets.  A space,
    not deletion, because they usually stand between words or sentences.
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _FIELD_CONTROLS.sub(" ", text)


def _decode(data: bytes) -> str:
    """Pick the encoding and decode; raise UnreadableFile for non-text bytes."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(encoding)
            except UnicodeDecodeError as exc:
                raise UnreadableFile(
                    f"file starts with a {encoding.upper()} byte-order mark "
                    f"but is not valid {encoding.upper()} (byte {exc.start + len(bom)})"
                ) from None
            _check_not_binary(text)
            return text

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Valid UTF-8 cut inside its last character (a truncated copy): drop
        # that character rather than re-read the whole file as cp1256 mojibake.
        if exc.reason == "unexpected end of data" and exc.start > 0:
            text = data[:exc.start].decode("utf-8")
            _check_not_binary(text)
            return text
    else:
        _check_not_binary(text)
        return text

    text = _damaged_utf8(data)
    if text is not None:
        _check_not_binary(text)
        return text

    text = data.decode("cp1256")  # defines all 256 byte values: never fails
    _check_not_binary(text)
    _check_plausible_cp1256(text)
    return text


def _damaged_utf8(data: bytes) -> str | None:
    """Decode UTF-8 with a few bad bytes, or return None if it isn't UTF-8.

    A UTF-8 file with one corrupt byte must not be re-read as cp1256, which
    would turn all of its Arabic into mojibake.  cp1256 Arabic, by contrast,
    fails as UTF-8 on nearly every non-ASCII byte.
    """
    text = data.decode("utf-8", errors="replace")
    errors = text.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    non_ascii = len(text) - len(text.encode("ascii", errors="ignore"))
    good = non_ascii - errors
    # max(1, …): one bad byte in a short article is damage too (0.01 × 60 letters < 1).
    if good > 0 and errors <= max(1, good * _MAX_UTF8_ERROR_RATIO):
        return text
    return None


def _check_not_binary(text: str) -> None:
    """Refuse text with many control characters: those bytes were not text."""
    controls = len(_BINARY_CONTROLS.findall(text))
    if controls > _MAX_CONTROLS_ABSOLUTE and controls > len(text) * _MAX_CONTROL_RATIO:
        raise UnreadableFile(
            f"binary content, not text ({controls} control characters in "
            f"{len(text)} characters)"
        )


def _check_plausible_cp1256(text: str) -> None:
    """Refuse a cp1256 reading that is not mostly letters.

    cp1256 maps every byte to some character, so "it decoded" proves nothing;
    real Windows-1256 text is dominated by Arabic (and Latin) letters.
    """
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return
    letters = sum(1 for c in visible if c.isalpha())
    if letters < len(visible) * _MIN_LETTER_RATIO_CP1256:
        raise UnreadableFile(
            "binary content or unknown encoding (neither UTF-8 nor plausible Windows-1256)"
        )
