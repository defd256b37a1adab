"""Decimal literals in `crmkpi query` SQL read as floats, as a user writing `1.0 * a / b` means.

Polars SQL types `1.0` as a Decimal, so `1.0 * won / closed` comes back as decimal[38,7]: seven
digits, and a JSON number that lost precision nobody asked to lose. Written with an exponent
(`1.0e0`) the same literal is a Float64. The rewrite touches number tokens only: text in
'strings', "quoted names", `quoted names` and comments is left as it is. A value the user
casts (`CAST(1.5 AS DECIMAL(10,2))`) stays the decimal asked for.
"""

from __future__ import annotations

import re

_TOKENS = re.compile(
    r"(?P<keep>--[^\n]*|/\*.*?(?:\*/|\Z)|'(?:[^']|'')*(?:'|\Z)|\"(?:[^\"]|\"\")*(?:\"|\Z)"
    r"|`[^`]*(?:`|\Z))"
    r"|(?<![\w.$])(?P<decimal>\d+\.\d*|\.\d+)(?![\w.])",
    re.DOTALL,
)


def float_literals(sql: str) -> str:
    """`sql` with each decimal literal (1.0, .5, 2.) given an exponent, so it is a float."""
    return _TOKENS.sub(lambda m: m.group("keep") or f"{m.group('decimal')}e0", sql)
