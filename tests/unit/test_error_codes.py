"""The registry of client-visible error codes (chat.kernel.error_codes) is complete and sound.

An AST scan of every module in chat/, referral/ and volunteer/ finds each string
literal used as an error code (passed to FrameError, to an HTTP error helper,
written into an ``error`` frame or an ``{"error": …}`` body, a ``code = "…"`` class
attribute, a ``code="…"`` keyword, a (code, close) pair) and each ``codes.NAME``
reference; every one must be registered. So a code the hub still writes literally is
caught here, and so is a new one nobody registered.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from chat.kernel import error_codes as codes
from chat.kernel.error_codes import HTTP, REGISTRY, SOCKETS, Code
from chat.kernel.exceptions import BrokerError, FatalFrameError, FrameError, JourchattError

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("chat", "referral", "volunteer")
CODE = re.compile(r"^[a-z][a-z0-9_]*$")
# Calls whose argument at this position is an error code.
CODE_ARGS = {"FrameError": 0, "FatalFrameError": 0, "error": 1, "signed_out": 1, "lookup": 0}
# Names under which modules import chat.kernel.error_codes.
REGISTRY_ALIASES = {"codes", "error_codes"}


def _text(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _name(func: ast.expr) -> str | None:
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None


def _codes_in(tree: ast.AST) -> list[tuple[str, int]]:
    """(code, line) for every error code written in ``tree`` (see the module docstring)."""
    found: list[tuple[str | None, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            at = CODE_ARGS.get(_name(node.func) or "")
            if at is not None and len(node.args) > at:
                found.append((_text(node.args[at]), node.lineno))
            found += [(_text(k.value), node.lineno) for k in node.keywords if k.arg == "code"]
        elif isinstance(node, ast.Dict):
            pairs = {_text(k): v for k, v in zip(node.keys, node.values) if _text(k)}
            if "error" in pairs:
                found.append((_text(pairs["error"]), node.lineno))
            if "code" in pairs and _text(pairs.get("type")) == "error":
                found.append((_text(pairs["code"]), node.lineno))
        elif isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if (isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "code"
                                                         for t in stmt.targets)):
                    found.append((_text(stmt.value), stmt.lineno))
        elif isinstance(node, ast.Tuple) and len(node.elts) >= 2:
            # ("not_allowed", 4403, …): a code with its close code.
            head, second = _text(node.elts[0]), node.elts[1]
            close = second.value if isinstance(second, ast.Constant) and isinstance(second.value, int) else None
            if head and CODE.match(head) and close and 1000 <= close < 5000:
                found.append((head, node.lineno))
        elif (isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple) and len(node.value.elts) == 2
              and isinstance(node.targets[0], ast.Name) and node.targets[0].id.isupper()):
            # _UNKNOWN = ("unknown_chat", "you have no chat …"): a code and its detail kept in
            # a constant and spread into FrameError(*_UNKNOWN).
            head, detail = (_text(e) for e in node.value.elts)
            if head and CODE.match(head) and detail and " " in detail:
                found.append((head, node.lineno))
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
              and node.targets[0].id == "SIGNED_OUT" and isinstance(node.value, ast.Dict)):
            found += [(_text(k), node.lineno) for k in node.value.keys]
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id in REGISTRY_ALIASES and node.attr.isupper()):
            found.append((node.attr.lower(), node.lineno))
    return [(c, line) for c, line in found if c is not None]


def _modules() -> list[Path]:
    paths = [p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py") if "migrations" not in p.parts]
    assert len(paths) > 50
    return sorted(paths)


def test_every_error_code_used_in_the_packages_is_registered() -> None:
    used: dict[str, str] = {}
    for path in _modules():
        for code, line in _codes_in(ast.parse(path.read_text(encoding="utf-8"))):
            used.setdefault(code, f"{path.relative_to(ROOT)}:{line}")
    unregistered = {code: where for code, where in used.items() if code not in REGISTRY}
    assert unregistered == {}, "register these in chat/kernel/error_codes.py"
    # The scan must see the codes the hub and supervision still write literally.
    assert {"unknown_chat", "chat_lost", "transfer_refused", "resume_failed", "signed_out"} <= set(used)


def test_every_registered_code_is_used_somewhere() -> None:
    used = {code for path in _modules() for code, _ in _codes_in(ast.parse(path.read_text(encoding="utf-8")))}
    assert sorted(set(REGISTRY) - used) == []


@pytest.mark.parametrize("source, code", [
    ('raise FrameError("no_such", "x y")', "no_such"),
    ('raise FatalFrameError("no_such", "x", 4400)', "no_such"),
    ('outbox.send({"type": "error", "code": "no_such", "detail": "d"})', "no_such"),
    ('return JSONResponse({"error": "no_such", "detail": "d"})', "no_such"),
    ('return error(400, "no_such", "d")', "no_such"),
    ('class E(ReferralError):\n    code = "no_such"', "no_such"),
    ('raise StatsQueryError("d", code="no_such")', "no_such"),
    ('_UNKNOWN = ("no_such", "you have no chat")', "no_such"),
    ('raise FrameError(*_UNKNOWN)\n_UNKNOWN = ("no_such", "you have no chat")', "no_such"),
    ('pair = ("no_such", 4401, "d")', "no_such"),
    ('raise FrameError.of(codes.NO_SUCH)', "no_such"),
])
def test_the_scan_finds_a_code_in_every_shape_it_is_written(source: str, code: str) -> None:
    assert code in {c for c, _ in _codes_in(ast.parse(source))}


def test_the_scan_ignores_strings_that_are_not_codes() -> None:
    source = ('x = ("type", "message")\nd = {"type": "message", "code": "K7QM3"}\nws.close(code=1008)\n'
              'for name, text in (("disable", "disable an account"),): pass')
    assert _codes_in(ast.parse(source)) == []


def test_every_code_is_well_formed_and_bilingual() -> None:
    assert len(REGISTRY) > 50
    for name, code in REGISTRY.items():
        assert code.name == name and CODE.match(name), name
        assert code.sv.strip() and code.en.strip() and code.sv != code.en, name
        assert code.detail == f"{code.sv} / {code.en}"
        assert code.where, name
        assert (code.status is not None) == (HTTP in code.where), name
        assert code.status is None or 400 <= code.status < 600, name
        assert code.close is None or code.close == 1000 or 1013 == code.close or 4000 <= code.close < 5000, name
        assert not (code.bad_frame and code.close), f"{name}: a bad frame leaves the socket open"
        assert not code.bad_frame or code.where & SOCKETS, name


def test_every_constant_is_its_registered_code() -> None:
    constants = {k: v for k, v in vars(codes).items() if isinstance(v, Code)}
    assert {c.name.upper(): c for c in REGISTRY.values()} == constants


def test_a_code_cannot_be_registered_twice() -> None:
    with pytest.raises(ValueError, match="twice"):
        codes._code("chat_ended", "a", "b", SOCKETS)


def test_lookup_names_the_fix() -> None:
    assert codes.lookup("chat_ended") is codes.CHAT_ENDED
    with pytest.raises(KeyError, match="chat/kernel/error_codes.py"):
        codes.lookup("no_such_code")


def test_frame_error_of_a_code_carries_its_registered_detail() -> None:
    err = FrameError.of(codes.UNKNOWN_CHAT)
    assert (err.code, err.detail) == ("unknown_chat", codes.UNKNOWN_CHAT.detail)
    assert err.frame() == {"type": "error", "code": "unknown_chat", "detail": codes.UNKNOWN_CHAT.detail}
    assert FrameError.of(codes.INVALID_FIELD, "age: too old").detail == "age: too old"


def test_the_older_spelling_still_works() -> None:
    err = FrameError("unknown_chat", "you have no chat with that id")
    assert (err.code, err.detail) == ("unknown_chat", "you have no chat with that id")
    fatal = FatalFrameError("not_allowed", "no", 4403)
    assert (fatal.code, fatal.close_code) == ("not_allowed", 4403)
    assert FatalFrameError("x_y", "d").close_code == 4400
    with pytest.raises(TypeError, match="FrameError.of"):
        FrameError("unknown_chat")


def test_a_fatal_error_closes_with_its_registered_close_code() -> None:
    for code in (codes.HELLO_TIMEOUT, codes.TOO_MANY_ERRORS, codes.SESSION_EXPIRED, codes.NOT_ALLOWED):
        assert FatalFrameError.of(code).close_code == code.close


def test_there_is_one_broker_error_and_the_cli_catches_it() -> None:
    from chat.kernel import broker
    from chat.kernel.broker import base

    assert broker.BrokerError is base.BrokerError is BrokerError
    assert issubclass(BrokerError, JourchattError)


def test_the_hierarchy_is_drawn_in_the_exceptions_docstring() -> None:
    import chat.kernel.exceptions
    from referral.exceptions import ReferralError
    from volunteer.exceptions import AccountError, HoursError

    doc = chat.kernel.exceptions.__doc__ or ""
    for cls in (JourchattError, FrameError, FatalFrameError, BrokerError, AccountError, HoursError, ReferralError):
        assert cls.__name__ in doc
        assert issubclass(cls, JourchattError)
    assert "FrameError.of(codes." in doc
