"""A strict parser for the Prometheus text exposition format (0.0.4).

Strict means it accepts what the format allows and what zcserve needs to
emit, and raises PromError, with the line number, on anything else:

- every line is `# HELP name text`, `# TYPE name type`, or a sample
  `name{label="value",...} value [timestamp]`; no empty lines, no other
  comments, no stray whitespace (one space between the parts), the text
  ends with a newline;
- metric names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
  [a-zA-Z_][a-zA-Z0-9_]* and do not start with "__" (reserved), a label
  appears at most once per sample, no trailing comma in a label set;
- label values use only the escapes \\\\, \\" and \\n; HELP text only
  \\\\ and \\n;
- values are Go ParseFloat numbers (digits, optional fraction and
  exponent, +Inf, -Inf, NaN); Python's float() would also take "1_0",
  "infinity" or " 1", so values are matched against a pattern first;
  timestamps are integers;
- every sample belongs to a family whose TYPE came before it (histogram
  samples may end in _bucket, _sum or _count, summary samples in _sum or
  _count); HELP and TYPE appear at most once per family and before its
  samples; a family's lines are not interleaved with another family's;
- counter family names end in _total;
- no two samples have the same name and label set.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
VALUE = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf)|NaN")
TIMESTAMP = re.compile(r"-?\d+")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count")}


class PromError(ValueError):
    pass


@dataclass
class Sample:
    name: str
    labels: dict
    value: float
    line: int


@dataclass
class Family:
    name: str
    type: str | None = None
    help: str | None = None
    samples: list = field(default_factory=list)


def _fail(lineno, msg, line):
    raise PromError(f"line {lineno}: {msg}: {line[:200]!r}")


def _match_name(regex, text, pos):
    m = regex.match(text, pos)
    return (m.group(0), m.end()) if m else (None, pos)


def _parse_labels(line, pos, lineno):
    """Parses `{...}` at pos; returns (labels, position after '}')."""
    labels = {}
    pos += 1  # '{'
    if pos < len(line) and line[pos] == "}":
        return labels, pos + 1
    while True:
        name, pos = _match_name(LABEL_NAME, line, pos)
        if name is None:
            _fail(lineno, f"bad label name at column {pos + 1}", line)
        if name.startswith("__"):
            _fail(lineno, f"label name {name!r} is reserved (starts with __)", line)
        if name in labels:
            _fail(lineno, f"label {name!r} appears twice", line)
        if line[pos:pos + 2] != '="':
            _fail(lineno, f"expected '=\"' after label {name!r}", line)
        pos += 2
        value = []
        while True:
            if pos >= len(line):
                _fail(lineno, f"unterminated value of label {name!r}", line)
            c = line[pos]
            if c == "\\":
                esc = line[pos + 1:pos + 2]
                if esc == "\\":
                    value.append("\\")
                elif esc == '"':
                    value.append('"')
                elif esc == "n":
                    value.append("\n")
                else:
                    _fail(lineno, f"invalid escape \\{esc} in the value of label {name!r}", line)
                pos += 2
            elif c == '"':
                pos += 1
                break
            else:
                value.append(c)
                pos += 1
        labels[name] = "".join(value)
        if pos >= len(line):
            _fail(lineno, "unterminated label set", line)
        if line[pos] == "}":
            return labels, pos + 1
        if line[pos] != ",":
            _fail(lineno, f"expected ',' or '}}' at column {pos + 1}", line)
        pos += 1
        if pos < len(line) and line[pos] == "}":
            _fail(lineno, "trailing comma in label set", line)


def _unescape_help(text, lineno, line):
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            esc = text[i + 1:i + 2]
            if esc == "\\":
                out.append("\\")
            elif esc == "n":
                out.append("\n")
            else:
                _fail(lineno, f"invalid escape \\{esc} in HELP text", line)
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _family_of(sample_name, families):
    """The declared family a sample name belongs to, or None."""
    fam = families.get(sample_name)
    if fam is not None and fam.type not in ("histogram",):
        return fam
    for ftype, suffixes in SUFFIXES.items():
        for suf in suffixes:
            if sample_name.endswith(suf):
                base = families.get(sample_name[:-len(suf)])
                if base is not None and base.type == ftype:
                    return base
    return None


def parse(text):
    """Parses exposition text; returns {family name: Family}, in order."""
    if not isinstance(text, str):
        raise PromError("exposition text must be str")
    if text == "":
        return {}
    if not text.endswith("\n"):
        raise PromError("the text does not end with a newline")
    families = {}
    closed = set()  # families whose group of lines has ended
    current = None  # the family whose lines we are in
    seen = set()  # (name, frozenset(labels))

    def enter(fam, lineno, line):
        nonlocal current
        if current is not fam:
            if fam.name in closed:
                _fail(lineno, f"lines of family {fam.name!r} are not together", line)
            if current is not None:
                closed.add(current.name)
            current = fam

    for lineno, line in enumerate(text[:-1].split("\n"), start=1):
        if line == "":
            _fail(lineno, "empty line", line)
        if "\r" in line:
            _fail(lineno, "carriage return", line)
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) < 3 or parts[0] != "#" or parts[1] not in ("HELP", "TYPE"):
                _fail(lineno, "a comment that is not '# HELP name text' or '# TYPE name type'", line)
            kind, name = parts[1], parts[2]
            if METRIC_NAME.fullmatch(name) is None:
                _fail(lineno, f"bad metric name {name!r}", line)
            fam = families.get(name)
            if fam is None:
                fam = families[name] = Family(name)
            enter(fam, lineno, line)
            if fam.samples:
                _fail(lineno, f"# {kind} for {name!r} after its samples", line)
            if kind == "HELP":
                if fam.help is not None:
                    _fail(lineno, f"second HELP for {name!r}", line)
                if len(parts) < 4:
                    _fail(lineno, "HELP without text", line)
                fam.help = _unescape_help(parts[3], lineno, line)
            else:
                if fam.type is not None:
                    _fail(lineno, f"second TYPE for {name!r}", line)
                if len(parts) != 4 or parts[3] not in TYPES:
                    _fail(lineno, f"TYPE must be one of {', '.join(TYPES)}", line)
                fam.type = parts[3]
                if fam.type == "counter" and not name.endswith("_total"):
                    _fail(lineno, f"counter {name!r} does not end in _total", line)
            continue

        name, pos = _match_name(METRIC_NAME, line, 0)
        if name is None:
            _fail(lineno, "a sample line must start with a metric name", line)
        labels = {}
        if pos < len(line) and line[pos] == "{":
            labels, pos = _parse_labels(line, pos, lineno)
        if line[pos:pos + 1] != " ":
            _fail(lineno, f"expected one space before the value at column {pos + 1}", line)
        rest = line[pos + 1:].split(" ")
        if len(rest) not in (1, 2):
            _fail(lineno, "expected 'value' or 'value timestamp' after the name", line)
        if VALUE.fullmatch(rest[0]) is None:
            _fail(lineno, f"value {rest[0]!r} is not a number", line)
        value = float(rest[0].replace("Inf", "inf"))
        if len(rest) == 2 and TIMESTAMP.fullmatch(rest[1]) is None:
            _fail(lineno, f"timestamp {rest[1]!r} is not an integer", line)
        fam = _family_of(name, families)
        if fam is None or fam.type is None:
            _fail(lineno, f"sample {name!r} has no preceding # TYPE", line)
        enter(fam, lineno, line)
        key = (name, frozenset(labels.items()))
        if key in seen:
            _fail(lineno, f"duplicate sample {name}{labels}", line)
        seen.add(key)
        if fam.type == "counter" and not (value >= 0 or math.isnan(value)):
            _fail(lineno, f"counter {name!r} is negative", line)
        fam.samples.append(Sample(name, labels, value, lineno))
    return families
