"""User-facing errors: values with a place (file, row, column) and a hint.

Deep code raises these; only the CLI turns them into one line on stderr and an exit code.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_INPUT = 2
EXIT_ALERT = 3


class CrmkpiError(Exception):
    """An error a user can act on. `str()` is the one line the CLI prints."""

    exit_code = EXIT_INPUT

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        row: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.row = row
        self.column = column
        self.hint = hint

    def __str__(self) -> str:
        place = ""
        if self.path:
            place = str(self.path)
            if self.row is not None:
                place += f":{self.row}"
            if self.column:
                place += f" column {self.column!r}"
            place += ": "
        tail = f" ({_cut(self.hint)})" if self.hint else ""
        return _cut(f"{place}{_cut(self.message)}{tail}", 3 * MAX_PART_CHARS)


MAX_PART_CHARS = 400


def _cut(text: str, limit: int = MAX_PART_CHARS) -> str:
    """One line of sane length: a 50 MB header or cell quoted back is cut, line breaks go."""
    if "\n" in text or "\r" in text:
        text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return text if len(text) <= limit else f"{text[: limit - 25]}… ({len(text):,} characters)"


class InputError(CrmkpiError):
    """A file that cannot be read, is not a table, or lacks what a table needs."""


class UnknownTableError(InputError):
    """A readable table whose headers match no canonical table.

    Named on the command line it is an error; found while scanning a folder (a full CRM export
    also holds accounts, users, products...) it is listed as not used and the rest is read.
    """


class ConfigError(CrmkpiError):
    """A crmkpi.toml that is malformed or names unknown things."""


class UsageError(CrmkpiError):
    """Options that do not fit together, unknown KPI ids, bad filter expressions."""


class HistoryError(CrmkpiError):
    """The history store is damaged or locked beyond the busy timeout."""


class OutputError(CrmkpiError):
    """An output that cannot be written: a read-only or full disk, a missing permission."""
