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
import html
import os
import re
import stat

__all__ = ["MAX_FILE_BYTES", "UnreadableFile", "clean_id", "clean_text", "decode_bytes",
           "file_kind", "open_regular", "path_text", "read_text", "unescape_references"]

#: A file read whole (one text article, an SGML, JSON or CSV file) larger than
#: this is reported, not read (``arshif index --max-file-size``): it is held in
#: memory at once, several times over while decoded and analyzed.  The largest
#: real archive files (a day of SaudiNewsNet as one JSON array) are a fifth of
#: it.  JSON Lines files of any size are read in parts; for them the limit
#: bounds one line (one record).
MAX_FILE_BYTES = 64 * 2**20


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
# Lone surrogates cannot be written as UTF-8: a JSON escape such as "\ud800"
# in any field, or a file name that is not valid UTF-8 (Python decodes its bad
# bytes to surrogates), made the analyzer, the index's term encoding and the
# web page's response raise UnicodeEncodeError.  Noncharacters are not text
# either.  Both become U+FFFD, the replacement character, which marks where
# something was lost.
_NOT_TEXT = re.compile("[\ud800-\udfff\ufdd0-\ufdef"
                       + "".join(chr(plane * 0x10000 + last)
                                 for plane in range(17) for last in (0xFFFE, 0xFFFF))
                       + "]")
# Whether clean_text has anything to do: one scan for a character outside
# what text needs no cleaning of (tab, newline, printable ASCII, the BMP
# without C1 controls, surrogates and noncharacters), which finds the
# characters of the two classes above and any beyond the BMP.  A negated
# class of BMP ranges: scanning a class that lists characters beyond the
# BMP is several times slower, and every article's fields go through here.
_MAYBE_UNCLEAN = re.compile("[^\t\n\x20-\x7e\xa0-\ud7ff\ue000-\ufdcf\ufdf0-\ufffd]")

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


def read_text(path: str | os.PathLike, limit: int = MAX_FILE_BYTES) -> str:
    """Read a file as text, detecting its encoding; raise UnreadableFile if we can't.

    The reason in the exception is shown to the user in the rejects report, so
    it names the problem (permissions, binary content, empty, not a regular
    file, too large) rather than the Python exception.
    """
    with open_regular(path) as fh:
        if os.fstat(fh.fileno()).st_size > limit:
            raise UnreadableFile(too_large(limit))
        try:
            # One byte more than allowed: a file that grows while read, or one
            # whose size stat does not tell (/proc), still cannot fill memory.
            data = fh.read(limit + 1)
        except OSError as exc:
            raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise UnreadableFile(too_large(limit))
    return decode_bytes(data)


def too_large(limit: int, what: str = "file") -> str:
    """The reason given for a file (or a JSON Lines line) over the limit."""
    return f"{what} larger than {format_size(limit)} (--max-file-size)"


def format_size(n: int) -> str:
    for unit, size in (("GB", 2**30), ("MB", 2**20), ("KB", 2**10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


def file_kind(mode: int) -> str:
    """What a file that is not a regular file or folder is, in plain English."""
    for test, name in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "a special file"


def open_regular(path: str | os.PathLike):
    """Open a regular file for reading, or raise UnreadableFile.

    Only regular files are read: a named pipe would block the build forever
    (holding the build lock), a device such as /dev/zero never ends.  The
    file is opened with O_NONBLOCK, which makes opening a named pipe return
    at once instead of waiting for a writer, and its type is checked on the
    open descriptor, so a file swapped for a pipe after the folder was
    listed is refused too.  O_NONBLOCK does not change reads of regular files.
    """
    flags = (os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
             | getattr(os, "O_CLOEXEC", 0))
    try:
        fd = os.open(path, flags)
    except PermissionError:
        raise UnreadableFile("permission denied") from None
    except FileNotFoundError:
        raise UnreadableFile("file not found") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError as exc:
        os.close(fd)
        raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise UnreadableFile("is a directory, not a file")
        raise UnreadableFile(f"not a regular file ({file_kind(mode)})")
    return os.fdopen(fd, "rb")


def path_text(path: str | os.PathLike) -> str:
    """A path as text that can be written anywhere (index, report, terminal).

    A file name that is not valid UTF-8 comes from ``os`` with its bad bytes
    as lone surrogates, which cannot be encoded; they are written as ``\\xff``
    escapes instead, so distinct names stay distinct.
    """
    return os.fsencode(path).decode("utf-8", "backslashreplace")


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
    if _MAYBE_UNCLEAN.search(text):
        return _NOT_TEXT.sub("\ufffd", _FIELD_CONTROLS.sub(" ", text))
    return text


#: An HTML character reference closed by its ";": named (``&quot;``),
#: decimal (``&#8220;``) or hexadecimal (``&#x201C;``).
_REFERENCE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")


def unescape_references(text: str) -> str:
    """``text`` with its HTML character references (``&quot;``, ``&#8220;``,
    ``&nbsp;``) as the characters they stand for.

    Why: archives exported or scraped from news sites carry their pages'
    escaped text (a SaudiNewsNet headline: ``&#8220;موسوعة خطب الجمعة&#8221;``),
    and SGML archives escape by design; kept as written, a headline shows
    "&quot;" and "quot" is indexed as a word.  Only references closed by ";"
    are read: ``html.unescape`` alone also reads a few legacy names without
    it, and "&copy" or "&not" in plain text would change.  A name that is
    no character (``&foo;``) stays as written."""
    if "&" not in text:
        return text
    return _REFERENCE.sub(lambda m: html.unescape(m.group()), text)


def clean_id(text: str) -> str:
    """An article id that can be stored, searched and used in a URL.

    Cleaned like any field, and on one line: ``/article/<id>`` does not
    match a line break (a file name with a newline gave an id whose link was
    a 404), nor an id that starts with "/" (the URL's "//" is merged).  ''
    when nothing is left: the caller names the article by its file instead.
    """
    return " ".join(clean_text(text).split()).lstrip("/").strip()


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
