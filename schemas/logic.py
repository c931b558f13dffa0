"""REDCap's logic language: the branching logic and calculations of a data dictionary, parsed
with a grammar and evaluated on many form rows at once.

Pure: no I/O, no project. `parse` turns an expression into a tree (or raises `Unsupported`
naming what is outside the supported language); `evaluate` computes it for every row, given the
text of each field it reads. What is supported, and how each rule was established, is in
docs/redcap-logic.md. In short, as REDCap evaluates logic:

- every value is text; a blank is the empty string;
- `=`, `<>` and the order comparisons compare as numbers when both sides are numbers, else as
  text (so `[x] < 5` is true for a blank `[x]`, as in REDCap);
- a missing-data code is a value (`[x] <> ''` is true for `UNK`); only `isblankormissingcode()`
  and its kin see through it, and arithmetic treats it as blank;
- arithmetic on a blank (or text) gives a blank, except `sum`, `mean`, `min`, `max` and
  `median`, which leave blanks out;
- `round` rounds half up, `datediff` counts a year as 365.2425 days and a month as 30.44.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

import lark
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


class Unsupported(ValueError):
    """An expression outside the supported language; the message says what."""


@dataclass(frozen=True)
class Ref:
    """A field reference: `[field]`, `[field(code)]` (a checkbox option), `[event][field]`."""

    field: str
    event: str | None = None
    code: str | None = None

    def __str__(self) -> str:
        event = f"[{self.event}]" if self.event else ""
        code = f"({self.code})" if self.code is not None else ""
        return f"{event}[{self.field}{code}]"


# -- the tree -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Literal:
    """A number or a quoted text, as written (quotes make no difference to what it is)."""

    text: str


@dataclass(frozen=True)
class Field:
    ref: Ref


@dataclass(frozen=True)
class Op:
    """An operator (`+ - * / ^`, comparisons, `and`, `or`, `not`, unary `-`) on its operands."""

    op: str
    args: tuple


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple


Node = Literal | Field | Op | Call

_GRAMMAR = r"""
start: expr
?expr: expr _OR conj -> or_
     | conj
?conj: conj _AND neg -> and_
     | neg
?neg: _NOT neg -> not_
    | comparison
?comparison: arith COMPARE arith -> compare
           | arith
?arith: arith "+" term -> add
      | arith "-" term -> sub
      | term
?term: term "*" factor -> mul
     | term "/" factor -> div
     | factor
?factor: "-" factor -> negate
       | "+" factor
       | power
?power: atom "^" factor -> pow
      | atom
?atom: NUMBER -> number
     | STRING -> string
     | BRACKET+ -> ref
     | _TRUE -> true
     | _FALSE -> false
     | NAME "(" [expr ("," expr)*] ")" -> call
     | "(" expr ")"

_OR.2: /or\b/i
_AND.2: /and\b/i
_NOT.2: /not\b/i
_TRUE.2: /true\b/i
_FALSE.2: /false\b/i
COMPARE: /<=|>=|<>|!=|==|=|<|>/
NUMBER: /\d+(\.\d*)?|\.\d+/
STRING: /'[^']*'|"[^"]*"/
BRACKET: /\[[^\[\]\n]*\]/
NAME: /[A-Za-z_][A-Za-z0-9_]*/
COMMENT: /(#|\/\/)[^\n]*/
%import common.WS
%ignore WS
%ignore COMMENT
"""

_PARSER = lark.Lark(_GRAMMAR, parser="lalr", maybe_placeholders=False)

_FIELD_PART = re.compile(r"([a-z][a-z0-9_]*)(?:\(([^()]+)\))?")
_EVENT_PART = re.compile(r"[a-z0-9][a-z0-9_]*")
_INSTANCE = re.compile(r"\d+|[a-z-]*instance")

DATEDIFF_UNITS = {"y": 31556952.0, "M": 2630016.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
"""Seconds per datediff unit: a year is 365.2425 days, a month 30.44 days (REDCap's own)."""


class _Tree(lark.Transformer):
    def start(self, items):
        return items[0]

    def number(self, items):
        return Literal(str(items[0]))

    def string(self, items):
        return Literal(str(items[0])[1:-1])

    def true(self, items):
        return Literal("1")

    def false(self, items):
        return Literal("0")

    def ref(self, items):
        return Field(_reference([str(t)[1:-1] for t in items]))

    def call(self, items):
        name, args = str(items[0]).lower(), tuple(items[1:])
        if name not in FUNCTIONS:
            raise Unsupported(f"the function {name}() is not supported")
        _, low, high = FUNCTIONS[name]
        if len(args) < low or (high is not None and len(args) > high):
            raise Unsupported(f"{name}() is given {len(args)} argument(s)")
        if name == "datediff":
            _check_datediff(args)
        return Call(name, args)

    def compare(self, items):
        left, op, right = items
        return Op({"==": "=", "!=": "<>"}.get(str(op), str(op)), (left, right))

    def or_(self, items):
        return Op("or", tuple(items))

    def and_(self, items):
        return Op("and", tuple(items))

    def not_(self, items):
        return Op("not", tuple(items))

    def negate(self, items):
        return Op("neg", tuple(items))

    def add(self, items):
        return Op("+", tuple(items))

    def sub(self, items):
        return Op("-", tuple(items))

    def mul(self, items):
        return Op("*", tuple(items))

    def div(self, items):
        return Op("/", tuple(items))

    def pow(self, items):
        return Op("^", tuple(items))


def _reference(parts: list[str]) -> Ref:
    """`[field]`, `[field(code)]`, `[event][field]`; anything else (smart variables, instances)
    is named as unsupported."""
    written = "".join(f"[{p}]" for p in parts)
    *events, last = parts
    if events and _INSTANCE.fullmatch(last):
        raise Unsupported(f"the reference {written} names a repeat instance")
    found = _FIELD_PART.fullmatch(last)
    if found is None or len(events) > 1 or (events and not _EVENT_PART.fullmatch(events[0])):
        raise Unsupported(f"the reference {written} is a smart variable")
    return Ref(found[1], events[0] if events else None, found[2])


def _check_datediff(args: tuple) -> None:
    """datediff(date1, date2, unit[, format][, signed]): unit and format are written as text;
    `today` and `now` make a value that changes every day, which a stored value cannot match."""
    unit = args[2]
    if not (isinstance(unit, Literal) and unit.text in DATEDIFF_UNITS):
        raise Unsupported("datediff() needs a unit written as 'y', 'M', 'd', 'h', 'm' or 's'")
    for arg in args[:2]:
        if isinstance(arg, Literal) and arg.text.lower() in ("today", "now"):
            raise Unsupported(f"datediff() with '{arg.text}' changes every day")


def parse(text: str) -> Node:
    """The tree of a REDCap expression; raises Unsupported when it is outside the language."""
    if not text.strip():
        raise Unsupported("the expression is empty")
    try:
        return _Tree().transform(_PARSER.parse(text))
    except lark.exceptions.VisitError as err:
        if isinstance(err.orig_exc, Unsupported):
            raise err.orig_exc from None
        raise
    except lark.exceptions.UnexpectedInput as err:
        raise Unsupported(f"it does not parse at character {err.column}: {_context(text, err)}") from None


def _context(text: str, err: lark.exceptions.UnexpectedInput) -> str:
    pos = getattr(err, "pos_in_stream", None) or 0
    return repr(text[max(0, pos - 15) : pos + 15])


def references(node: Node) -> Iterator[Ref]:
    """Every field reference in an expression, in order (repeats included)."""
    if isinstance(node, Field):
        yield node.ref
    elif isinstance(node, Op | Call):
        for arg in node.args:
            yield from references(arg)


# -- evaluation -----------------------------------------------------------------------------------
_NUMERIC = r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*"


@dataclass
class Value:
    """An expression's value on every row: its text ('' blank) and its number (NaN where it is
    not a number, is blank, or is a missing-data code)."""

    index: pd.Index
    _text: pd.Series | None = None
    _num: pd.Series | None = None
    boolean: bool = False
    missing: pd.Series | None = field(default=None, repr=False)  # True where a missing-data code
    constant: bool = False  # a literal: the same on every row

    @cached_property
    def text(self) -> pd.Series:
        return self._text if self._text is not None else _format(self._num)

    @cached_property
    def num(self) -> pd.Series:
        if self._num is not None:
            return self._num
        number = _numbers(self.text)
        return number.mask(self.missing) if self.missing is not None else number

    def truth(self) -> pd.Series:
        """As a condition: true, non-zero numbers and text other than '' and '0'."""
        if self.boolean:
            return self.num == 1
        num = self.num
        return (num.notna() & (num != 0)) | (num.isna() & ~self.text.isin(["", "0"]))


def _numbers(text: pd.Series) -> pd.Series:
    """The number each text is (NaN where it is not one), matched in Arrow."""
    numeric = pc.match_substring_regex(pa.array(text, pa.string()), f"^{_NUMERIC}$").fill_null(False)
    numeric = pd.Series(numeric.to_numpy(zero_copy_only=False), index=text.index)
    if not numeric.any():
        return pd.Series(np.nan, index=text.index)
    return pd.to_numeric(text.where(numeric), errors="coerce").astype("float64")


def _format(num: pd.Series) -> pd.Series:
    """Numbers as REDCap writes them: whole numbers without a decimal point, blank for none."""
    out = pd.Series("", index=num.index, dtype="object")
    finite = num.notna() & np.isfinite(num)
    whole = finite & (num == np.round(num)) & (num.abs() < 2**53)
    out[whole] = num[whole].astype("int64").astype(str)
    rest = finite & ~whole
    out[rest] = num[rest].map(repr)
    return out.astype("str")


def _boolean(mask: pd.Series) -> Value:
    return Value(mask.index, _num=mask.astype("float64"), boolean=True)


def _number(num: pd.Series) -> Value:
    return Value(num.index, _num=num.astype("float64"))


@dataclass(frozen=True)
class Rows:
    """What an expression is evaluated on: the rows' index, the text of each reference (aligned
    with the index; '' where blank), and the project's missing-data codes."""

    index: pd.Index
    lookup: Callable[[Ref], pd.Series]
    missing_codes: tuple[str, ...] = ()


def evaluate(node: Node, rows: Rows) -> Value:
    """The value of an expression on every row."""
    if isinstance(node, Literal):
        text = pd.Series(node.text, index=rows.index, dtype="str")
        number = float(node.text) if re.fullmatch(_NUMERIC, node.text) else np.nan
        return Value(rows.index, _text=text, _num=pd.Series(number, index=rows.index), constant=True)
    if isinstance(node, Field):
        text = rows.lookup(node.ref).fillna("").astype("str")
        if node.ref.code is not None:
            text = text.where(text != "", "0")  # an unticked box, also where the form has no row
        return Value(rows.index, _text=text, missing=text.isin(rows.missing_codes))
    if isinstance(node, Op):
        return _operate(node, rows)
    return FUNCTIONS[node.name][0](rows, *(evaluate(a, rows) for a in node.args))


_ARITHMETIC = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": lambda a, b: np.divide(a, b.where(b != 0)),
    "^": np.power,
}
_ORDER = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


def _operate(node: Op, rows: Rows) -> Value:
    args = [evaluate(a, rows) for a in node.args]
    if node.op == "and":
        return _boolean(args[0].truth() & args[1].truth())
    if node.op == "or":
        return _boolean(args[0].truth() | args[1].truth())
    if node.op == "not":
        return _boolean(~args[0].truth())
    if node.op == "neg":
        return _number(-args[0].num)
    if node.op in _ARITHMETIC:
        return _number(_ARITHMETIC[node.op](args[0].num, args[1].num))
    return _boolean(compare(node.op, args[0], args[1]))


def compare(op: str, left: Value, right: Value) -> pd.Series:
    """A comparison on every row: as numbers where both sides are numbers, else as text."""
    test = _ORDER[op]
    as_text = test(left.text, right.text).fillna(False).astype(bool)
    if any(v.constant and v.num.isna().all() for v in (left, right)):  # a quoted text: never a number
        return as_text
    both = left.num.notna() & right.num.notna()
    as_numbers = test(left.num, right.num).fillna(False).astype(bool)
    return as_numbers.where(both, as_text)


# -- functions ------------------------------------------------------------------------------------
def _if(rows: Rows, condition: Value, yes: Value, no: Value) -> Value:
    chosen = condition.truth()
    if yes.boolean and no.boolean:
        return _boolean(yes.num.where(chosen, no.num) == 1)
    return Value(rows.index, _text=yes.text.where(chosen, no.text), _num=yes.num.where(chosen, no.num))


def _stack(values: tuple[Value, ...]) -> pd.DataFrame:
    return pd.concat([v.num for v in values], axis=1, ignore_index=True)


def _sum(rows: Rows, *values: Value) -> Value:
    table = _stack(values)
    return _number(table.sum(axis=1, min_count=1))


def _aggregate(how: str) -> Callable:
    def function(rows: Rows, *values: Value) -> Value:
        return _number(getattr(_stack(values), how)(axis=1, skipna=True))

    return function


def _rounding(how: Callable) -> Callable:
    def function(rows: Rows, number: Value, places: Value | None = None) -> Value:
        scale = 10.0 ** (places.num.fillna(0) if places is not None else 0)
        return _number(how(number.num * scale) / scale)

    return function


def _round_half_up(x: pd.Series) -> pd.Series:
    return np.floor(x + 0.5)


def _mod(rows: Rows, dividend: Value, divisor: Value) -> Value:
    a, b = dividend.num, divisor.num
    whole = (a == np.round(a)) & (b == np.round(b)) & (b != 0)
    return _number(np.fmod(a, b.where(whole)))


def _datediff(rows: Rows, first: Value, second: Value, unit: Value, *rest: Value) -> Value:
    """Dates as exported (YYYY-MM-DD[ HH:MM[:SS]]): the format argument names how the form
    shows them, not how they are stored, so it plays no part here."""
    signed = pd.Series(False, index=rows.index)
    for extra in rest:  # the format ('ymd', 'mdy', 'dmy') and whether to keep the sign
        signed |= extra.text.str.lower().isin(["true", "1"])
    one, two = _when(first), _when(second)
    seconds = (two - one).dt.total_seconds()
    seconds = seconds.where(signed, seconds.abs())
    code = unit.text.iloc[0] if len(unit.text) else "d"
    days_only = first.text.str.len().le(10) & second.text.str.len().le(10)
    result = seconds / DATEDIFF_UNITS[code]
    if code == "d":
        result = result.where(~days_only, _round_half_up(result))
    return _number(result)


def _when(value: Value) -> pd.Series:
    text = value.text.mask(value.missing) if value.missing is not None else value.text
    return pd.to_datetime(text, format="ISO8601", errors="coerce")


def _blank_or_code(rows: Rows, value: Value) -> Value:
    return _boolean((value.text == "") | value.text.isin(rows.missing_codes))


def _blank_not_code(rows: Rows, value: Value) -> Value:
    return _boolean(value.text == "")


def _missing_code(rows: Rows, value: Value) -> Value:
    return _boolean(value.text.isin(rows.missing_codes))


def _is_number(rows: Rows, value: Value) -> Value:
    return _boolean(_numbers(value.text).notna())


def _is_integer(rows: Rows, value: Value) -> Value:
    return _boolean(value.text.str.fullmatch(r"\s*[+-]?\d+\s*").fillna(False).astype(bool))


def _text_test(how: str, negate: bool = False) -> Callable:
    def function(rows: Rows, haystack: Value, needle: Value) -> Value:
        hay, pin = haystack.text.str.lower(), needle.text.str.lower()
        found = pd.Series([getattr(h, how)(p) for h, p in zip(hay, pin, strict=True)], index=rows.index, dtype="bool")
        return _boolean(~found if negate else found)

    return function


def _length(rows: Rows, value: Value) -> Value:
    return _number(value.text.str.len())


FUNCTIONS: dict[str, tuple[Callable[..., Value], int, int | None]] = {
    # name: (what it computes, fewest arguments, most arguments or None for no limit)
    "if": (_if, 3, 3),
    "sum": (_sum, 1, None),
    "mean": (_aggregate("mean"), 1, None),
    "median": (_aggregate("median"), 1, None),
    "min": (_aggregate("min"), 1, None),
    "max": (_aggregate("max"), 1, None),
    "round": (_rounding(_round_half_up), 1, 2),
    "roundup": (_rounding(np.ceil), 1, 2),
    "rounddown": (_rounding(np.floor), 1, 2),
    "abs": (lambda rows, v: _number(v.num.abs()), 1, 1),
    "sqrt": (lambda rows, v: _number(np.sqrt(v.num.where(v.num >= 0))), 1, 1),
    "mod": (_mod, 2, 2),
    "datediff": (_datediff, 3, 5),
    "isblankormissingcode": (_blank_or_code, 1, 1),
    "isblanknotmissingcode": (_blank_not_code, 1, 1),
    "ismissingcode": (_missing_code, 1, 1),
    "isnumber": (_is_number, 1, 1),
    "isinteger": (_is_integer, 1, 1),
    "contains": (_text_test("__contains__"), 2, 2),
    "not_contain": (_text_test("__contains__", negate=True), 2, 2),
    "starts_with": (_text_test("startswith"), 2, 2),
    "ends_with": (_text_test("endswith"), 2, 2),
    "length": (_length, 1, 1),
}
"""The functions of REDCap's logic that are evaluated (every other one is named as unsupported)."""
