"""What `crmkpi query` refuses before Polars sees the SQL: anything that reads outside the tables.

Polars SQL has table functions (`read_csv('/etc/shadow')`, `read_parquet('https://...')`) that
open any file or URL. A query over exports must see the canonical tables and nothing else, and
the tool promises no network access, so every call of a `read_*` or `scan_*` function is refused
wherever it stands. The check runs on the text with string literals and comments blanked out, so
`name = 'read_csv(x)'` is plain text; a quoted name (`"read_csv"(...)`) is still a call.
"""

from __future__ import annotations

import re

from crmkpi.errors import UsageError

# Blanked first, in this order of precedence as the text is scanned: comments, 'strings'.
# Quoted names ("..." or `...`) stay, unquoted, because Polars calls them like bare names.
_LITERAL_OR_COMMENT = re.compile(r"--[^\n]*|/\*.*?(?:\*/|\Z)|'(?:[^']|'')*(?:'|\Z)", re.DOTALL)
_QUOTED_NAME = re.compile(r'"((?:[^"]|"")*)"|`([^`]*)`')
_FILE_FUNCTION = re.compile(r"\b((?:read|scan)_\w*)\s*\(", re.IGNORECASE)


def check_query(sql: str) -> None:
    """Raise UsageError when `sql` calls a function that reads files or URLs."""
    code = _LITERAL_OR_COMMENT.sub(" ", sql)
    code = _QUOTED_NAME.sub(lambda m: m.group(1) or m.group(2) or "", code)
    found = _FILE_FUNCTION.search(code)
    if found:
        raise UsageError(
            f"query refused: {found.group(1)}() reads files or URLs; "
            "a query sees only the tables of the inputs",
            hint="name the files on the command line instead: crmkpi query SQL FILE...",
        )
