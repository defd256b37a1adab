"""The --where language: simple row filters parsed safely into Polars expressions.

    source = "Referral" and amount >= 10000
    owner in ("Ana", "Bo") or not (status = "lost")
    closed_at >= "2025-01-01" and lost_reason is null
    `Deal Type` != 'Renewal'

A small tokenizer and a recursive-descent parser build a tree; the tree is compiled against a
frame's schema, so a string compared with a number column or a bad date is caught before any
data is read. A date without a time stands for the whole day. Nothing is ever evaluated as
Python. Errors name the 1-based character position and what was expected there. Comparisons
follow SQL: a null cell never matches `=`, `!=`, `<`... (use `is null`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from crmkpi.errors import UsageError

if TYPE_CHECKING:
    import polars as pl

KEYWORDS = ("and", "or", "not", "in", "is", "null", "true", "false")
OPERATORS = ("=", "==", "!=", "<>", "<", "<=", ">", ">=")
SYNTAX_HINT = 'e.g. source = "Referral" and amount >= 10000'
# Parentheses and `not`s nested deeper than this are refused: no real filter needs it, and the
# parser and compiler recurse once per level.
MAX_NESTING = 100

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<string>"(?:[^"\\]|\\.|"")*"|'(?:[^'\\]|\\.|'')*')
  | (?P<quoted>`[^`]*`)
  | (?P<name>[^\W\d]\w*)
  | (?P<op><=|>=|!=|<>|==|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, name, keyword, op, punct, end
    text: str
    value: Any
    pos: int  # 1-based character position


def _describe(token: Token) -> str:
    return "end of input" if token.kind == "end" else repr(token.text)


def _error(message: str, pos: int, hint: str = SYNTAX_HINT) -> UsageError:
    return UsageError(f"bad --where expression at position {pos}: {message}", hint=hint)


def _unquote(text: str) -> str:
    quote = text[0]
    body = text[1:-1].replace(quote * 2, quote)
    return re.sub(r"\\(.)", r"\1", body)


def tokenize(text: str) -> list[Token]:
    """Split an expression into tokens; the last one is always `end`."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] in "\"'`":
                raise _error(f"unclosed quote {text[pos]}", pos + 1)
            raise _error(f"unexpected character {text[pos]!r}", pos + 1)
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "name" and raw.lower() in KEYWORDS:
            tokens.append(Token("keyword", raw.lower(), raw.lower(), pos + 1))
        elif kind == "name":
            tokens.append(Token("name", raw, raw, pos + 1))
        elif kind == "quoted":
            tokens.append(Token("name", raw, raw[1:-1], pos + 1))
        elif kind == "string":
            tokens.append(Token("string", raw, _unquote(raw), pos + 1))
        elif kind == "number":
            number = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(Token("number", raw, number, pos + 1))
        elif kind != "space":
            tokens.append(Token(kind, raw, raw, pos + 1))
        pos = match.end()
    tokens.append(Token("end", "", None, len(text) + 1))
    return tokens


# The tree: a few frozen node types, compiled later against a schema.


@dataclass(frozen=True)
class Literal:
    value: str | int | float | bool
    kind: str  # string, number, bool
    pos: int
    text: str  # as written, so `id = 0042` compares with the text "0042"


@dataclass(frozen=True)
class Compare:
    column: str
    op: str
    values: tuple[Literal, ...]  # one for operators, several for `in`
    pos: int


@dataclass(frozen=True)
class IsNull:
    column: str
    negated: bool
    pos: int


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # and, or
    operands: tuple[Node, ...]


Node = Compare | IsNull | Not | BoolOp


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def enter(self, pos: int) -> None:
        """One more level of parentheses or `not`; refused past MAX_NESTING."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise _error(
                f"nested more than {MAX_NESTING} levels deep",
                pos,
                hint="write it with fewer parentheses or `not`s",
            )

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        tok = self.tok
        if tok.kind == kind and (text is None or tok.text == text):
            return self.advance()
        return None

    def expect(self, kind: str, text: str, what: str) -> Token:
        tok = self.accept(kind, text)
        if tok is None:
            raise _error(f"expected {what}, got {_describe(self.tok)}", self.tok.pos)
        return tok

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise _error("expected a condition, got an empty expression", self.tok.pos)
        node = self.or_expr()
        if self.tok.kind != "end":
            raise _error(
                f"expected 'and', 'or' or the end, got {_describe(self.tok)}", self.tok.pos
            )
        return node

    def or_expr(self) -> Node:
        parts = [self.and_expr()]
        while self.accept("keyword", "or"):
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def and_expr(self) -> Node:
        parts = [self.not_expr()]
        while self.accept("keyword", "and"):
            parts.append(self.not_expr())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def not_expr(self) -> Node:
        tok = self.accept("keyword", "not")
        if tok:
            self.enter(tok.pos)
            node = Not(self.not_expr())
            self.depth -= 1
            return node
        return self.condition()

    def condition(self) -> Node:
        tok = self.accept("punct", "(")
        if tok:
            self.enter(tok.pos)
            node = self.or_expr()
            self.expect("punct", ")", "')'")
            self.depth -= 1
            return node
        tok = self.tok
        if tok.kind != "name":
            raise _error(f"expected a column name or '(', got {_describe(tok)}", tok.pos)
        column = self.advance().value
        if self.accept("keyword", "is"):
            negated = self.accept("keyword", "not") is not None
            self.expect("keyword", "null", "'null' after 'is'")
            return IsNull(column, negated, tok.pos)
        if self.tok.kind == "keyword" and self.tok.text in ("not", "in"):
            negated = self.accept("keyword", "not") is not None
            self.expect("keyword", "in", "'in' after 'not'")
            return Compare(column, "not in" if negated else "in", self.value_list(), tok.pos)
        op = self.accept("op")
        if op is None:
            raise _error(
                f"expected an operator (=, !=, <, <=, >, >=, in, is null) after {column!r}, "
                f"got {_describe(self.tok)}",
                self.tok.pos,
            )
        return Compare(column, op.text, (self.literal(op.text),), tok.pos)

    def value_list(self) -> tuple[Literal, ...]:
        self.expect("punct", "(", "'(' after 'in'")
        values = [self.literal("in")]
        while self.accept("punct", ","):
            values.append(self.literal("in"))
        self.expect("punct", ")", "',' or ')' in the list")
        return tuple(values)

    def literal(self, after: str) -> Literal:
        tok = self.tok
        if tok.kind in ("string", "number"):
            self.advance()
            return Literal(tok.value, tok.kind, tok.pos, tok.text)
        if tok.kind == "keyword" and tok.text in ("true", "false"):
            self.advance()
            return Literal(tok.text == "true", "bool", tok.pos, tok.text)
        if tok.kind == "keyword" and tok.text == "null":
            raise _error("compare with null using 'is null' or 'is not null'", tok.pos)
        if tok.kind == "name":
            raise _error(
                f"expected a value after {after!r}, got the name {tok.text!r}",
                tok.pos,
                hint=f'quote text values: "{tok.text}"',
            )
        raise _error(f"expected a value after {after!r}, got {_describe(tok)}", tok.pos)


@dataclass(frozen=True)
class Filter:
    """A parsed --where expression: the columns it reads and a compiler to a Polars expression."""

    text: str
    tree: Node

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the expression names, in order of first appearance."""
        seen: dict[str, None] = {}

        def walk(node: Node) -> None:
            if isinstance(node, Compare | IsNull):
                seen.setdefault(node.column)
            elif isinstance(node, Not):
                walk(node.operand)
            else:
                for part in node.operands:
                    walk(part)

        walk(self.tree)
        return tuple(seen)

    def applies_to(self, columns: list[str] | tuple[str, ...]) -> bool:
        """Whether a table with these columns has every column the filter reads."""
        return set(self.columns) <= set(columns)

    def to_expr(self, schema: pl.Schema | dict[str, Any], table: str = "the table") -> pl.Expr:
        """The Polars boolean expression over a frame with `schema`; checks columns and types."""
        return _compile(self.tree, dict(schema), table)


def parse_where(text: str) -> Filter:
    """Parse a --where expression (no data needed yet); raises UsageError with a position."""
    return Filter(text, _Parser(text).parse())


def _compile(node: Node, schema: dict[str, Any], table: str) -> pl.Expr:
    import polars as pl

    if isinstance(node, BoolOp):
        exprs = [_compile(part, schema, table) for part in node.operands]
        return _all_or_any(node.op, exprs)
    if isinstance(node, Not):
        return ~_compile(node.operand, schema, table)
    if node.column not in schema:
        known = ", ".join(schema)
        raise UsageError(
            f"bad --where expression at position {node.pos}: {table} has no column {node.column!r}",
            hint=f"columns: {known}",
        )
    col = pl.col(node.column)
    if isinstance(node, IsNull):
        return col.is_not_null() if node.negated else col.is_null()
    dtype = schema[node.column]
    values = [_coerce(v, node.column, dtype) for v in node.values]
    whole_days = isinstance(dtype, pl.Datetime) and all(_is_day(v) for v in node.values)
    if whole_days:
        # A date without a time means the whole day: `closed_at = "2025-03-31"` matches any
        # moment of that day, `closed_at <= "2025-03-31"` includes it.
        col = col.dt.truncate("1d")
    if node.op in ("in", "not in"):
        if dtype.is_numeric() and not (
            dtype.is_integer() and all(isinstance(v, int) for v in values)
        ):
            col, dtype = col.cast(pl.Float64), pl.Float64
            values = [float(v) for v in values]
        member = col.is_in(pl.Series(values, dtype=dtype).implode())
        # SQL semantics: a null cell is neither in nor not in the list.
        member = pl.when(col.is_null()).then(None).otherwise(member)
        return ~member if node.op == "not in" else member
    value = pl.lit(values[0]) if dtype.is_numeric() else pl.lit(values[0], dtype=dtype)
    op = {"=": "eq", "==": "eq", "!=": "ne", "<>": "ne", "<": "lt", "<=": "le", ">": "gt",
          ">=": "ge"}[node.op]  # fmt: skip
    return getattr(col, op)(value)


def _all_or_any(op: str, exprs: list[pl.Expr]) -> pl.Expr:
    """`a and b and c` as one flat all_horizontal (any_horizontal for `or`): the same Kleene
    logic over nulls as a chain of & or |, but a chain of 5,000 `and not` terms is 5,000
    levels deep and Polars' optimiser takes minutes and gigabytes over it."""
    import polars as pl

    return pl.all_horizontal(exprs) if op == "and" else pl.any_horizontal(exprs)


def _is_day(lit: Literal) -> bool:
    return (
        lit.kind == "string"
        and re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", str(lit.value)) is not None
    )


def _coerce(lit: Literal, column: str, dtype: Any) -> Any:
    """The literal as a value of the column's type, or an error naming both."""
    import polars as pl

    def wrong(expected: str) -> UsageError:
        return _error(f"{column!r} holds {expected}; got {lit.kind} {lit.value!r}", lit.pos)

    if dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum):
        if lit.kind == "bool":
            return "true" if lit.value else "false"
        return str(lit.value) if lit.kind == "string" else lit.text
    if dtype.is_numeric():
        if lit.kind == "number":
            return lit.value
        if lit.kind == "string":
            try:
                return float(str(lit.value))
            except ValueError:
                raise wrong("numbers") from None
        raise wrong("numbers")
    if dtype == pl.Boolean:
        if lit.kind == "bool":
            return lit.value
        if lit.kind == "string" and str(lit.value).lower() in ("true", "false"):
            return str(lit.value).lower() == "true"
        raise wrong("true/false")
    if isinstance(dtype, pl.Datetime | pl.Date):
        if lit.kind != "string":
            raise wrong('dates (write them as ISO strings, e.g. "2025-01-31")')
        try:
            parsed = datetime.fromisoformat(str(lit.value).strip())
        except ValueError:
            raise _error(f"{lit.value!r} is not an ISO date (YYYY-MM-DD)", lit.pos) from None
        return parsed.date() if isinstance(dtype, pl.Date) else parsed
    if lit.kind == "string":
        return lit.value
    raise wrong(f"values of type {dtype}")


__all__ = ["Filter", "parse_where", "tokenize"]
