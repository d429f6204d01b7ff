"""A deterministic JSON value that validates against a JSON Schema: the offline backend's
answer to `text.format` `json_schema` (no model, no dependency).

Covered: `type` (one or a list), `enum`, `const`, objects (`properties`, `required`,
`additionalProperties`, `min/maxProperties`), arrays (`items`, `prefixItems`, `min/maxItems`,
`uniqueItems`), strings (`min/maxLength`, common `format`s), numbers and integers
(`minimum`, `maximum`, both `exclusive` forms, `multipleOf`), booleans, null, `anyOf`,
`allOf`, `oneOf` whose branches differ by type, and local `$ref` (recursion included).
Anything else that constrains a value (`pattern`, `not`, `if`, `contains`...) raises
`Unsupported` rather than giving a value that might not validate.

Values are plain and recognisable: strings read "offline", numbers sit at 0 or the nearest
bound, arrays have their minimum length (at least one item when allowed).
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from typing import Any

LABEL = "offline"
MAX_DEPTH = 32
SHALLOW_DEPTH = 4  # from here down: only required properties, only the minimum of items
UNSUPPORTED = (
    "pattern",
    "patternProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "dependentRequired",
    "dependentSchemas",
    "dependencies",
)
ANNOTATIONS = ("title", "description", "default", "examples", "$comment", "deprecated")
TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")


class Unsupported(ValueError):
    """The schema asks for something this generator cannot guarantee (the text says what)."""


def json_value(schema: Any) -> Any:
    """A value that validates against `schema`, the same one every time."""
    return _Builder(schema).build(schema, 0, 0)


def _formats(n: int) -> dict[str, str]:
    return {
        "date-time": f"2000-01-{1 + n % 28:02d}T00:00:00Z",
        "date": f"2000-01-{1 + n % 28:02d}",
        "time": f"00:00:{n % 60:02d}Z",
        "duration": f"P{n + 1}D",
        "email": f"offline{n}@example.com",
        "hostname": f"host{n}.example.com",
        "ipv4": f"192.0.2.{n % 256}",
        "ipv6": f"2001:db8::{n:x}",
        "uri": f"https://example.com/offline/{n}",
        "uuid": f"00000000-0000-4000-8000-{n % 10**12:012d}",
    }


class _Builder:
    def __init__(self, root: Any) -> None:
        self.root = root

    def build(self, schema: Any, variant: int, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise Unsupported(f"a schema nested deeper than {MAX_DEPTH} levels")
        if schema is True:
            return LABEL
        if not isinstance(schema, dict):
            raise Unsupported("a schema that accepts nothing" if schema is False else "a schema")
        schema = self._flatten(schema)
        for key in UNSUPPORTED:
            if key in schema:
                raise Unsupported(f"keyword '{key}'")
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            values = schema["enum"]
            if not isinstance(values, list) or not values:
                raise Unsupported("an empty 'enum'")
            return values[variant % len(values)]
        if "anyOf" in schema:
            return self._any_of(schema, variant, depth)
        if "oneOf" in schema:
            return self._one_of(schema, variant, depth)
        kind = _type_of(schema)
        if kind == "object":
            return self._object(schema, variant, depth)
        if kind == "array":
            return self._array(schema, variant, depth)
        if kind in ("integer", "number"):
            return _number(schema, variant, integer=kind == "integer")
        if kind == "boolean":
            return variant % 2 == 0
        if kind == "null":
            return None
        return _string(schema, variant)

    # ---------------------------------------------------------------- combinators

    def _flatten(self, schema: dict[str, Any]) -> dict[str, Any]:
        """`$ref` resolved and `allOf` merged into the schema itself."""
        for _ in range(MAX_DEPTH):
            if "$ref" in schema:
                target = self._resolve(schema["$ref"])
                rest = {k: v for k, v in schema.items() if k != "$ref"}
                schema = _merge(target, rest) if target is not True else rest
            elif "allOf" in schema:
                parts = schema["allOf"]
                if not isinstance(parts, list):
                    raise Unsupported("'allOf' that is not a list")
                merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
                for part in parts:
                    if part is True:
                        continue
                    if not isinstance(part, dict):
                        raise Unsupported("an 'allOf' branch that accepts nothing")
                    merged = _merge(merged, part)
                schema = merged
            else:
                return schema
        raise Unsupported("'$ref' that points at itself")

    def _resolve(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not (ref == "#" or ref.startswith("#/")):
            raise Unsupported(f"$ref {ref!r} (only references inside the schema)")
        node = self.root
        for part in ref[2:].split("/") if ref != "#" else []:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise Unsupported(f"$ref {ref!r} that points at nothing")
        return node

    def _any_of(self, schema: dict[str, Any], variant: int, depth: int) -> Any:
        branches = schema["anyOf"]
        if not isinstance(branches, list) or not branches:
            raise Unsupported("an empty 'anyOf'")
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        order = list(range(len(branches)))
        if depth >= SHALLOW_DEPTH:  # deep down, prefer branches that do not recurse
            order.sort(key=lambda i: "$ref" in json.dumps(branches[i]))
        problem: Unsupported | None = None
        for i in order:
            branch = branches[i]
            try:
                if branch is True:
                    combined = rest or True
                elif isinstance(branch, dict):
                    combined = _merge(rest, branch)
                else:
                    combined = branch
                return self.build(combined, variant, depth + 1)
            except Unsupported as error:
                problem = problem or error
        assert problem is not None
        raise problem

    def _one_of(self, schema: dict[str, Any], variant: int, depth: int) -> Any:
        """Only when each branch has its own single type: then a value built from one branch
        cannot match another (integer and number overlap, so not both)."""
        branches = schema["oneOf"]
        kinds = [b.get("type") if isinstance(b, dict) else None for b in branches or []]
        distinct = all(isinstance(k, str) for k in kinds) and len(set(kinds)) == len(kinds)
        if not branches or not distinct or {"integer", "number"} <= set(kinds):
            raise Unsupported("'oneOf' whose branches are not told apart by 'type'")
        rest = {k: v for k, v in schema.items() if k != "oneOf"}
        return self._any_of({**rest, "anyOf": branches}, variant, depth)

    # ---------------------------------------------------------------- containers

    def _object(self, schema: dict[str, Any], variant: int, depth: int) -> dict[str, Any]:
        properties = schema.get("properties") or {}
        required = schema.get("required") or []
        if not isinstance(properties, dict) or not isinstance(required, list):
            raise Unsupported("'properties' or 'required' of the wrong type")
        extra = schema.get("additionalProperties", True)
        shallow = depth >= SHALLOW_DEPTH
        names = [p for p in properties if p in required or not shallow]
        names += [str(r) for r in required if r not in properties and str(r) not in names]
        optional = [p for p in properties if p not in names]
        low = _count(schema, "minProperties", 0)
        high = _count(schema, "maxProperties", None)
        while high is not None and len(names) > high:
            drop = next((n for n in reversed(names) if n not in required), None)
            if drop is None:
                raise Unsupported("more required properties than 'maxProperties'")
            names.remove(drop)
        while len(names) < low and optional:
            names.append(optional.pop(0))
        n = 1
        while len(names) < low:
            if extra is False:
                raise Unsupported("'minProperties' above the properties allowed")
            while f"extra_{n}" in properties or f"extra_{n}" in names:
                n += 1
            names.append(f"extra_{n}")
        out: dict[str, Any] = {}
        for name in names:
            if name in properties:
                sub = properties[name]
            elif extra is False:
                raise Unsupported(f"required property '{name}' that is not allowed")
            else:
                sub = extra
            out[name] = self.build(sub, variant, depth + 1)
        return out

    def _array(self, schema: dict[str, Any], variant: int, depth: int) -> list[Any]:
        prefix = schema.get("prefixItems") or []
        items = schema.get("items", True)
        if isinstance(items, list):  # the draft 4-7 tuple form
            prefix, items = items, schema.get("additionalItems", True)
        if not isinstance(prefix, list):
            raise Unsupported("'prefixItems' that is not a list")
        low = _count(schema, "minItems", 0)
        high = _count(schema, "maxItems", None)
        if high is not None and high < low:
            raise Unsupported("'maxItems' below 'minItems'")
        room = len(prefix) if items is False else None
        if room is not None and low > room:
            raise Unsupported("'minItems' above the items allowed")
        count = low
        if count == 0 and depth < SHALLOW_DEPTH and (high is None or high > 0) and room != 0:
            count = 1  # one example item reads better than []
        values = [
            self.build(prefix[i] if i < len(prefix) else items, i, depth + 1) for i in range(count)
        ]
        if schema.get("uniqueItems") is True:
            seen = {json.dumps(v, sort_keys=True) for v in values}
            if len(seen) < len(values):
                raise Unsupported("'uniqueItems' with too few distinct values to choose from")
        return values


# ---------------------------------------------------------------- scalars


def _string(schema: dict[str, Any], variant: int) -> str:
    low = _count(schema, "minLength", 0)
    high = _count(schema, "maxLength", None)
    if high is not None and high < low:
        raise Unsupported("'maxLength' below 'minLength'")
    fmt = schema.get("format")
    known = _formats(variant)
    if isinstance(fmt, str) and fmt in known:
        text = known[fmt]
        if len(text) < low or (high is not None and len(text) > high):
            raise Unsupported(f"format '{fmt}' with a length it cannot have")
        return text
    suffix = str(variant + 1) if variant else ""
    text = f"{LABEL} {suffix}" if suffix else LABEL
    if len(text) < low:
        text += "." * (low - len(text))
    if high is not None and len(text) > high:
        keep = max(0, high - len(suffix))
        text = (LABEL[:keep] + suffix)[-high:] if high else ""
    return text


def _number(schema: dict[str, Any], variant: int, *, integer: bool) -> int | float:
    """The allowed values as a progression k*step within the bounds; 0 when allowed, else
    the nearest bound; `variant` steps along it (so array items differ)."""
    low, low_open = _bound(schema, "minimum", "exclusiveMinimum", lower=True)
    high, high_open = _bound(schema, "maximum", "exclusiveMaximum", lower=False)
    multiple = schema.get("multipleOf")
    if multiple is not None:
        if not _is_number(multiple) or multiple <= 0:
            raise Unsupported("'multipleOf' that is not a positive number")
        step = Fraction(str(multiple))
        if integer:
            step = Fraction(step.numerator)  # the integer multiples of p/q are those of p
    elif integer:
        step = Fraction(1)
    else:
        step = None
    if step is None:
        # Any real number: integers when the range holds one, else a point strictly inside.
        first, last = _range(low, low_open, high, high_open, Fraction(1))
        if first is not None and last is not None and first > last:
            assert low is not None and high is not None
            inside = float(low + (high - low) / (variant + 2))
            above = inside > low or (not low_open and inside == low)
            below = inside < high or (not high_open and inside == high)
            if not (above and below):
                raise Unsupported("a range too narrow for a number")
            return inside
        step = Fraction(1)
    first, last = _range(low, low_open, high, high_open, step)
    if first is not None and last is not None and first > last:
        raise Unsupported("a range that holds no allowed value")
    k = _pick(first, last, variant)
    value = k * step
    if value.denominator == 1:
        return int(value)
    return float(value)


def _range(
    low: Fraction | None, low_open: bool, high: Fraction | None, high_open: bool, step: Fraction
) -> tuple[int | None, int | None]:
    """The first and last k with k*step inside the bounds (None: unbounded)."""
    first = last = None
    if low is not None:
        q = low / step
        first = math.floor(q) + 1 if low_open else math.ceil(q)
    if high is not None:
        q = high / step
        last = math.ceil(q) - 1 if high_open else math.floor(q)
    return first, last


def _pick(first: int | None, last: int | None, variant: int) -> int:
    start = 0
    if first is not None and start < first:
        start = first
    if last is not None and start > last:
        start = last
    if first is not None and last is not None:
        return first + (start - first + variant) % (last - first + 1)
    return start - variant if first is None and last is not None else start + variant


def _bound(
    schema: dict[str, Any], inclusive: str, exclusive: str, *, lower: bool
) -> tuple[Fraction | None, bool]:
    """The tighter of the inclusive and exclusive bound (draft 4's boolean form too)."""
    found: list[tuple[Fraction, bool]] = []
    value = schema.get(inclusive)
    flag = schema.get(exclusive)
    if value is not None:
        if not _is_number(value):
            raise Unsupported(f"'{inclusive}' that is not a number")
        found.append((Fraction(str(value)), flag is True))
    if flag is not None and not isinstance(flag, bool):
        if not _is_number(flag):
            raise Unsupported(f"'{exclusive}' that is not a number")
        found.append((Fraction(str(flag)), True))
    if not found:
        return None, False
    # the tighter bound; at equal values the open one
    if lower:
        return max(found, key=lambda b: (b[0], b[1]))
    return min(found, key=lambda b: (b[0], not b[1]))


# ---------------------------------------------------------------- helpers


def _type_of(schema: dict[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k in TYPES]
        if not kinds:
            raise Unsupported("an empty list of types")
        kind = next((k for k in kinds if k != "null"), "null")
    if kind is None:
        if "properties" in schema or "required" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema or "minItems" in schema:
            return "array"
        if any(k in schema for k in ("minimum", "maximum", "multipleOf")):
            return "number"
        return "string"
    if kind not in TYPES:
        raise Unsupported(f"type {kind!r}")
    return str(kind)


def _count(schema: dict[str, Any], key: str, default: int | None) -> int | None:
    value = schema.get(key, default)
    if value is None:
        return None
    if not _is_number(value) or value < 0 or value != int(value):
        raise Unsupported(f"'{key}' that is not a count")
    return int(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Both schemas at once (for `allOf` and `$ref` with siblings), or Unsupported."""
    out = dict(a)
    for key, value in b.items():
        if key not in out or key in ANNOTATIONS:
            out.setdefault(key, value)
            continue
        current = out[key]
        if current == value or key in ("properties", "additionalProperties"):
            continue  # the object keywords are met below, together
        if key == "required" and isinstance(current, list) and isinstance(value, list):
            out[key] = current + [r for r in value if r not in current]
        elif key in ("minimum", "minLength", "minItems", "minProperties") and _both(current, value):
            out[key] = max(current, value)
        elif key in ("maximum", "maxLength", "maxItems", "maxProperties") and _both(current, value):
            out[key] = min(current, value)
        elif key == "type":
            out[key] = _type_meet(current, value)
        elif key == "enum" and isinstance(current, list) and isinstance(value, list):
            out[key] = [v for v in current if v in value]
        elif key == "allOf" and isinstance(current, list) and isinstance(value, list):
            out[key] = current + value
        else:
            raise Unsupported(f"'allOf' or '$ref' with two different '{key}'")
    if any(k in s for s in (a, b) for k in ("properties", "additionalProperties")):
        _merge_objects(a, b, out)
    return out


def _merge_objects(a: dict[str, Any], b: dict[str, Any], out: dict[str, Any]) -> None:
    """`properties` and `additionalProperties` of both: each side's additionalProperties
    judges the names the other side adds (false forbids them)."""
    sides = []
    for side in (a, b):
        props = side.get("properties", {})
        if not isinstance(props, dict):
            raise Unsupported("'properties' that is not an object")
        sides.append((props, side.get("additionalProperties", True)))
    merged: dict[str, Any] = {}
    for props, _ in sides:
        for name, sub in props.items():
            merged[name] = {"allOf": [merged[name], sub]} if name in merged else sub
    for props, extra in sides:
        for name in list(merged):
            if name in props or extra is True:
                continue
            if extra is False:
                del merged[name]
            else:
                merged[name] = {"allOf": [merged[name], extra]}
    extras = [extra for _, extra in sides if extra is not True]
    if merged:
        out["properties"] = merged
    else:
        out.pop("properties", None)
    if not extras:
        out.pop("additionalProperties", None)
    elif any(extra is False for extra in extras):
        out["additionalProperties"] = False
    else:
        out["additionalProperties"] = extras[0] if len(extras) == 1 else {"allOf": extras}


def _both(a: Any, b: Any) -> bool:
    return _is_number(a) and _is_number(b)


def _type_meet(a: Any, b: Any) -> Any:
    left = set(a if isinstance(a, list) else [a])
    right = set(b if isinstance(b, list) else [b])
    both = left & right
    if ("integer" in left and "number" in right) or ("number" in left and "integer" in right):
        both.add("integer")
    kinds = [k for k in TYPES if k in both]
    if not kinds:
        raise Unsupported("'allOf' whose types never meet")
    return kinds[0] if len(kinds) == 1 else kinds
