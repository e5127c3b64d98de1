"""Frame decoding and encoding: the standard library's json against msgspec, per frame.

    python -m bench.frames [--number 100000] [--rounds 3]

For the commonest frames (a visitor's chat line in, a numbered line out) it times,
in one process and interleaved ``rounds`` times (the figure is the median of the
paired ratios, so a noisy machine shifts both sides alike):

- decode: ``json.loads`` against ``msgspec.json.Decoder().decode`` (the JSON alone);
- parse: what the endpoint runs for a visitor's line, ``chat.frames.parse_visitor``
  as it was (``json.loads`` then the checks) against as it is (msgspec, then the
  same checks), and, as the alternative considered, a msgspec ``Struct`` tagged union
  on ``type`` (one C pass decodes and checks types) plus the checks msgspec cannot
  express (blank text, lone surrogates, ranges), converted back to a dict;
- encode: ``json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode``
  against ``msgspec.json.Encoder().encode(...).decode()`` (the outbox needs a str).

Prints a table (ns per frame, ratio new/old) and writes bench/results/frames.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any, Callable, Union

import msgspec

from chat import frames

LINE = ("Hej, jag undrar över något som hände i helgen med min pojkvän. Han blev arg när jag "
        "pratade med en kompis och tog min telefon. Är det okej?")
VISITOR_LINE = json.dumps({"type": "message", "id": 17, "text": LINE}, ensure_ascii=False)
OUT_LINE = {"type": "message", "seq": 1234, "from": "visitor", "text": LINE}
ACK = {"type": "ack", "id": 17, "seq": 1234}


class _Message(msgspec.Struct, tag_field="type", tag="message"):
    id: Union[int, str]
    text: str


class _Typing(msgspec.Struct, tag_field="type", tag="typing"):
    active: bool


class _Leave(msgspec.Struct, tag_field="type", tag="leave"):
    pass


_STRUCTS = msgspec.json.Decoder(Union[_Message, _Typing, _Leave])


def _struct_parse(raw: str) -> dict[str, Any]:
    m = _STRUCTS.decode(raw)
    if isinstance(m, _Message):
        text = m.text
        if len(text) > frames.MAX_TEXT_CHARS or not text.strip():
            raise ValueError("text")
        if isinstance(m.id, int) and not 0 <= m.id < 2**53:
            raise ValueError("id")
        return {"type": "message", "id": m.id, "text": text}
    return msgspec.structs.asdict(m)


def _stdlib_parse(raw: str) -> Any:
    """parse_visitor as it was: json.loads, then the same checks."""
    obj = json.loads(raw)
    return frames._VISITOR[obj["type"]](obj)


_std_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_ms_encode = msgspec.json.Encoder().encode
_ms_decode = msgspec.json.Decoder().decode

CASES: list[tuple[str, Callable[[], Any], Callable[[], Any]]] = [
    ("decode JSON of a line", lambda: json.loads(VISITOR_LINE), lambda: _ms_decode(VISITOR_LINE)),
    ("parse_visitor (line)", lambda: _stdlib_parse(VISITOR_LINE), lambda: frames.parse_visitor(VISITOR_LINE)),
    ("Struct union (line)", lambda: _stdlib_parse(VISITOR_LINE), lambda: _struct_parse(VISITOR_LINE)),
    ("encode a line", lambda: _std_encode(OUT_LINE), lambda: _ms_encode(OUT_LINE).decode()),
    ("encode an ack", lambda: _std_encode(ACK), lambda: _ms_encode(ACK).decode()),
]


def _ns(fn: Callable[[], Any], number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number * 1e9


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--number", type=int, default=100_000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    assert _stdlib_parse(VISITOR_LINE) == frames.parse_visitor(VISITOR_LINE) == _struct_parse(VISITOR_LINE)
    assert _std_encode(OUT_LINE) == _ms_encode(OUT_LINE).decode()
    results = []
    print(f"{'case':24} {'stdlib ns':>10} {'msgspec ns':>11} {'new/old':>8}")
    for name, old, new in CASES:
        pairs = [(_ns(old, args.number), _ns(new, args.number)) for _ in range(args.rounds)]
        ratio = statistics.median(b / a for a, b in pairs)
        old_ns = statistics.median(a for a, _ in pairs)
        new_ns = statistics.median(b for _, b in pairs)
        print(f"{name:24} {old_ns:10.0f} {new_ns:11.0f} {ratio:8.2f}")
        results.append({"case": name, "stdlib_ns": round(old_ns), "msgspec_ns": round(new_ns),
                        "ratio": round(ratio, 3)})
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / "frames.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
