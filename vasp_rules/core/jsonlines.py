"""The one JSON Lines reader, used by every command that reads a stream (`evaluate` of a .jsonl
file or `--input-format jsonl`, the streaming and Dask paths, `diff --population`).

The stream's rules: UTF-8 text, one JSON value per line, lines separated by `\\n` (a `\\r` before
it is JSON whitespace, so `\\r\\n` works too). Nothing else ends a line: U+2028 and U+2029 may
stand raw inside a JSON string, and they, U+0085, a form feed or a lone `\\r` stay part of their
line (str.splitlines would cut the document there). Blank lines (spaces, tabs, `\\r`) are
skipped but counted, so every error names the file's own line number."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

#: What JSON counts as whitespace: a line of only these is blank.
_WHITESPACE = " \t\r\n"
_WHITESPACE_BYTES = _WHITESPACE.encode("ascii")


def is_blank(line: str | bytes) -> bool:
    """Whether a line holds only JSON whitespace."""
    if isinstance(line, bytes):
        return not line.strip(_WHITESPACE_BYTES)
    return not line.strip(_WHITESPACE)


def numbered_lines(source: Iterable[bytes]) -> Iterator[tuple[int, int, bytes]]:
    """(line number from 1, byte offset, line) of each non-blank line of a binary stream, read
    lazily. A binary file splits only at `\\n`, as the stream's rules say."""
    offset = 0
    for number, line in enumerate(source, start=1):
        start, offset = offset, offset + len(line)
        if not is_blank(line):
            yield number, start, line


def text_lines(text: str) -> Iterator[tuple[int, str]]:
    """(line number from 1, line) of each non-blank line of a stream's decoded text."""
    for number, line in enumerate(text.split("\n"), start=1):
        if not is_blank(line):
            yield number, line
