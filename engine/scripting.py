"""The sandbox that runs BPMN scripts, gateway conditions, timer and DMN expressions.

Process definitions come from people the host does not fully trust: RestrictedPython routes
attribute, item and iteration access through guards, builtins are an allow-list, and a per-call
tracer stops runaway loops. A tracer cannot interrupt one long C call, so the known one-call
bombs (huge powers, repeats, shifts, ranges, roundings, sums, Decimal exponents) are refused.
"""

from __future__ import annotations

import ast
import builtins
import copy
import decimal
import functools
import math
import operator
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sized
from datetime import date, datetime, timedelta, timezone
from types import CodeType, FrameType, MappingProxyType
from typing import Any

from RestrictedPython import RestrictingNodeTransformer, compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence, safer_getattr_raise
from RestrictedPython.transformer import copy_locations
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment, PythonScriptEngine

from engine.errors import DuplicateRegistration, ScriptError

_FILENAME = "<script>"  # marks script frames for the tracer and for error line numbers
_MAX_DIGITS = 10_000
_MAX_INT_BITS = 33_220  # about _MAX_DIGITS decimal digits
_MAX_ITEMS = 1_000_000
_MAX_DEPTH = 100  # far below Python's recursion limit, see _Watchdog


def _pow(base: Any, exp: Any) -> Any:
    if (isinstance(base, int) and isinstance(exp, int) and exp > 0 and abs(base) > 1
            and (exp > _MAX_INT_BITS or exp * math.log2(abs(base)) > _MAX_INT_BITS)):
        raise ScriptError(f"the result of ** would exceed {_MAX_DIGITS:,} digits")
    return base ** exp


def _mul(left: Any, right: Any) -> Any:
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > _MAX_INT_BITS:
            raise ScriptError(f"the result of * would exceed {_MAX_DIGITS:,} digits")
    elif isinstance(left, int) or isinstance(right, int):
        count, sequence = (left, right) if isinstance(left, int) else (right, left)
        if isinstance(sequence, Sized) and count > 0 and len(sequence) * count > _MAX_ITEMS:
            raise ScriptError(f"the result of * would exceed {_MAX_ITEMS:,} items")
    return left * right


def _lshift(value: Any, count: Any) -> Any:
    if isinstance(value, int) and isinstance(count, int) and value and value.bit_length() + count > _MAX_INT_BITS:
        raise ScriptError(f"the result of << would exceed {_MAX_DIGITS:,} digits")
    return value << count


def _range(*args: int) -> range:
    span = range(*args)
    if span[_MAX_ITEMS:]:
        raise ScriptError(f"range() is limited to {_MAX_ITEMS:,} items")
    return span


def _round(number: Any, ndigits: int | None = None) -> Any:
    if ndigits is not None and abs(ndigits) > _MAX_DIGITS:  # round(5, -10**9) computes 10**10**9
        raise ScriptError(f"round() takes at most {_MAX_DIGITS:,} digits")
    return round(number, ndigits)


def _sum(iterable: Any, /, start: Any = 0) -> Any:
    if isinstance(start, (list, tuple)):  # quadratic concatenation inside one C call
        raise ScriptError("sum() cannot concatenate sequences; use a comprehension")
    return sum(iterable, start)


class _DecimalType(type):
    """Bounds Decimal construction (int(Decimal('1e999999')) runs for minutes in C) while
    keeping `isinstance(x, Decimal)` true for every real Decimal."""

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, decimal.Decimal)

    def __call__(cls, value: Any = "0", context: decimal.Context | None = None) -> decimal.Decimal:
        number = decimal.Decimal(value, context)
        if number.is_finite() and abs(number.adjusted()) > _MAX_DIGITS:
            raise ScriptError(f"Decimal exponents are limited to {_MAX_DIGITS:,}")
        return number


class _Decimal(decimal.Decimal, metaclass=_DecimalType):
    """What scripts call `Decimal`; _DECIMAL_CONTEXT bounds the results of arithmetic."""


_DECIMAL_CONTEXT = decimal.Context(Emax=_MAX_DIGITS, Emin=-_MAX_DIGITS)


def _write(obj: Any) -> Any:
    """Guard for item and attribute stores and deletes: only dicts and lists (which take no
    attributes) may change, so host objects and functions stay untouched. Sets change through
    methods, which need no guard."""
    if isinstance(obj, (dict, list)):
        return obj
    raise ScriptError(f"scripts may only change dicts and lists, not {type(obj).__name__}")


_INPLACE: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": _mul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": _pow, "<<=": _lshift,
    ">>=": operator.irshift, "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand, "@=": operator.imatmul,
}
# The only exceptions scripts may name; without BaseException, no except clause catches _Abort.
_CATCHABLE = MappingProxyType({cls.__name__: cls for cls in (
    ArithmeticError, AssertionError, AttributeError, Exception, IndexError, KeyError, LookupError,
    NameError, OverflowError, RuntimeError, StopIteration, TypeError, ValueError, ZeroDivisionError,
)})
_BUILTINS: dict[str, Any] = {
    **{name: getattr(builtins, name) for name in (
        "abs", "all", "any", "bool", "chr", "dict", "divmod", "enumerate", "filter", "float", "frozenset",
        "int", "isinstance", "len", "list", "map", "max", "min", "ord", "repr", "reversed", "set", "sorted",
        "str", "tuple", "zip",
    )},
    **_CATCHABLE, "range": _range, "round": _round, "sum": _sum,
}
_GLOBALS: dict[str, Any] = {
    "datetime": datetime, "date": date, "timedelta": timedelta, "timezone": timezone, "Decimal": _Decimal,
}
_GUARDS: dict[str, Any] = {
    "_getattr_": safer_getattr_raise, "_getitem_": operator.getitem, "_getiter_": iter, "_write_": _write,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence, "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": lambda op, target, value: _INPLACE[op](target, value),
    "_apply_": lambda func, *args, **kwargs: func(*args, **kwargs),
    "_pow_": _pow, "_mul_": _mul, "_lshift_": _lshift, "_exceptions_": _CATCHABLE, "__builtins__": _BUILTINS,
}
_GUARDED_BINOPS = {ast.Pow: "_pow_", ast.Mult: "_mul_", ast.LShift: "_lshift_"}


class _SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus size guards on **, * and <<, and tightened so that no
    script code (finally, with, __exit__, except-clause expressions) can run while _Abort unwinds."""

    visit_ClassDef = visit_Import = visit_ImportFrom = visit_With = RestrictingNodeTransformer.not_allowed

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        helper = _GUARDED_BINOPS.get(type(node.op))
        if helper is None:
            return node
        call = ast.Call(func=ast.Name(helper, ast.Load()), args=[node.left, node.right], keywords=[])
        copy_locations(call, node)
        return call

    def visit_AugAssign(self, node: ast.AugAssign) -> Any:
        """Allow `d[k] += v` (common in task scripts) as `d[k] = d[k] + v`; the rest as upstream."""
        if not isinstance(node.target, ast.Subscript):
            return super().visit_AugAssign(node)
        current = copy.deepcopy(node.target)
        current.ctx = ast.Load()
        assign = ast.Assign(targets=[node.target], value=ast.BinOp(current, node.op, node.value))
        copy_locations(assign, node)
        return self.visit_Assign(assign)

    def visit_While(self, node: ast.While) -> Any:
        """`while True: pass` on one line compiles to a jump onto itself, which CPython never
        reports to a tracer; loading a name first gives every loop a traced backward jump."""
        node = self.node_contents_visit(node)
        mark = ast.Expr(ast.Name("_getiter_", ast.Load()))
        copy_locations(mark, node)
        node.body.insert(0, mark)
        return node

    def visit_Try(self, node: ast.Try) -> Any:
        if node.finalbody:
            self.error(node, "finally clauses are not allowed")
        return super().visit_Try(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> Any:
        """Only allow-listed exception names, looked up where a script cannot rebind them: an
        except clause that fails to evaluate would turn _Abort into a catchable error."""
        node = super().visit_ExceptHandler(node)
        names = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
        if not all(isinstance(name, ast.Name) and name.id in _CATCHABLE for name in names):
            self.error(node, "except clauses must name exceptions among " + ", ".join(sorted(_CATCHABLE)))
            return node
        node.type = ast.Tuple([ast.Subscript(ast.Name("_exceptions_", ast.Load()), ast.Constant(name.id), ast.Load())
                               for name in names], ast.Load())
        copy_locations(node.type, names[0])
        return node


@functools.lru_cache(maxsize=2048)
def _compile(source: str, mode: str) -> CodeType:
    """Compile once per distinct source: conditions are evaluated far more often than edited."""
    compiler = compile_restricted_eval if mode == "eval" else compile_restricted_exec
    try:
        result = compiler(source, filename=_FILENAME, policy=_SandboxPolicy)
    except (ValueError, RecursionError, MemoryError) as err:  # null bytes, absurd nesting
        raise ScriptError(f"cannot compile the script: {type(err).__name__}: {err}") from err
    if result.errors:
        found = re.match(r"Line (\d+): (.*)", result.errors[0], re.DOTALL)
        raise ScriptError(found[2], int(found[1])) if found else ScriptError(result.errors[0])
    return result.code


class _Abort(BaseException):
    """Raised by the tracer. Not an Exception and not nameable in scripts, so never swallowed."""


class _Watchdog:
    """sys.settrace hook enforcing the time limit and a call-depth limit on script frames.

    The limit is CPU time of the script's thread: time the thread spends waiting (for another
    thread of a threaded worker to let go of the interpreter, for a busy host to schedule it)
    is not the script's doing, and counted on the wall clock it failed trivial expressions
    under load. A thread's CPU time never runs ahead of the wall clock, so the cheap monotonic
    clock is read on every event and the CPU clock (a system call) only once it has passed.

    CPython switches a tracer off once it raises, hence the uncatchable _Abort and no finally
    or with blocks (they would run untraced). The depth limit keeps a RecursionError, which
    scripts can catch, from ever being raised inside this hook and switching it off.
    """

    __slots__ = ("limit", "deadline", "cpu_deadline", "depth")

    def __init__(self, limit: float):
        self.limit, self.depth = limit, 0
        self.deadline, self.cpu_deadline = time.monotonic() + limit, time.thread_time() + limit

    def __call__(self, frame: FrameType, event: str, arg: Any) -> _Watchdog | None:
        if event == "call":
            if frame.f_code.co_filename != _FILENAME:
                return None  # host code is neither traced nor interrupted
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                raise _Abort(f"script calls nest deeper than {_MAX_DEPTH} levels")
        elif event == "return":
            self.depth -= 1
        if time.monotonic() > self.deadline and time.thread_time() > self.cpu_deadline:
            raise _Abort(f"the script ran past its time limit of {self.limit:g} s of CPU")
        return self


def _script_line(err: BaseException) -> int | None:
    lines = [frame.lineno for frame in traceback.extract_tb(err.__traceback__) if frame.filename == _FILENAME]
    return lines[-1] if lines else None


def _is_data(value: Any) -> bool:
    """Functions and iterators carry script code that would later run outside the tracer."""
    return not callable(value) and not isinstance(value, Iterator)


def _check_function_name(name: str) -> None:
    if not name.isidentifier() or name.startswith("_"):
        raise ValueError(f"{name!r} cannot name a script function: use an identifier not starting with '_'")
    if name in _GLOBALS or name in _BUILTINS:
        raise DuplicateRegistration("sandbox builtin", name)


class ScriptRegistry:
    """The one place hosts declare what scripts may call, so the sandbox's surface stays explicit."""

    def __init__(self) -> None:
        self._functions: dict[str, Callable[..., Any]] = {}

    def register(self, name: str, func: Callable[..., Any]) -> None:
        _check_function_name(name)
        if name in self._functions:
            raise DuplicateRegistration("script function", name)
        self._functions[name] = func

    def functions(self) -> Mapping[str, Callable[..., Any]]:
        return MappingProxyType(self._functions)


class SandboxedEnvironment(BasePythonScriptEngineEnvironment):
    """Spiff's script environment with every script, condition and expression sandboxed."""

    def __init__(self, functions: Mapping[str, Callable[..., Any]], time_limit: float = 1.0):
        if time_limit <= 0:
            raise ValueError("time_limit must be positive")
        for name in functions:
            _check_function_name(name)
        super().__init__({**_GLOBALS, **functions})
        self.time_limit = time_limit
        self._base = {**self.globals, **_GUARDS}
        self._reserved = frozenset(self._base)

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        value = self._run(_compile(expression, "eval"), self._namespace(context, external_context or {}))
        if not _is_data(value):
            raise ScriptError("the expression produced a function or an iterator, not a value")
        return value

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        external = external_context or {}
        code = _compile(script, "exec")
        namespace = self._namespace(context, external, exclusive=True)
        try:
            self._run(code, namespace)
        finally:
            self._write_back(namespace, context, external)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise ScriptError("service tasks are not configured")

    def _namespace(self, context: Mapping[str, Any], external: Mapping[str, Any], exclusive: bool = False) -> dict:
        """Globals for one run; like TaskDataEnvironment.check_for_overwrite, fails fast when task
        data would hide a function or sandbox name and so break scripts obscurely."""
        hidden = self._reserved.intersection(context) | self._reserved.intersection(external)
        if exclusive:
            hidden |= external.keys() & context.keys()
        if hidden:
            raise ScriptError(f"task data hides predefined names; rename these variables: {', '.join(sorted(hidden))}")
        return {**external, **context, **self._base}

    def _run(self, code: CodeType, namespace: dict[str, Any]) -> Any:
        watchdog = _Watchdog(self.time_limit)
        previous = sys.gettrace()
        sys.settrace(watchdog)  # this thread only and no signals, so it works off the main thread
        try:
            with decimal.localcontext(_DECIMAL_CONTEXT):
                return eval(code, namespace)  # restricted code; eval also runs exec-mode code objects
        except KeyboardInterrupt:
            raise
        except BaseException as err:  # whatever the script raised, hosts see only ScriptError
            message = str(err) if isinstance(err, (_Abort, ScriptError)) else f"{type(err).__name__}: {err}"
            raise ScriptError(message, _script_line(err)) from err
        finally:
            sys.settrace(previous)

    def _write_back(self, namespace: dict[str, Any], context: dict[str, Any], external: Mapping[str, Any]) -> None:
        """Mirror what the script assigned or deleted into task data, but not the sandbox's own
        names, data objects, functions or iterators (TaskDataEnvironment drops callables too)."""
        for name in [name for name in context if name not in namespace]:
            del context[name]
        for name, value in namespace.items():
            if name in self._reserved or name in external:
                continue
            if _is_data(value):
                context[name] = value
            else:
                context.pop(name, None)


@functools.lru_cache(maxsize=2048)
def _syntax_error(expression: str) -> SyntaxError | None:
    try:
        ast.parse(expression)
    except SyntaxError as err:
        return err
    return None


class SandboxedScriptEngine(PythonScriptEngine):
    """Spiff's PythonScriptEngine, parsing each distinct expression once when asked to validate
    it: the DMN engine validates every input and rule expression on every evaluation."""

    def validate(self, expression: str) -> None:
        error = _syntax_error(expression)
        if error is not None:
            raise SyntaxError(*error.args)


def create_script_engine(registry: ScriptRegistry, time_limit: float = 1.0) -> PythonScriptEngine:
    """The script engine every workflow gets: Spiff's PythonScriptEngine over the sandbox."""
    return SandboxedScriptEngine(environment=SandboxedEnvironment(registry.functions(), time_limit))
