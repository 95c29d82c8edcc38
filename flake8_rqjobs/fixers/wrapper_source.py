"""The wrapper's own default Redis URL, read from the project's source.

``get_redis()`` of ``--wrapper-module X`` connects to ``REDIS_URL``, and when that is unset to
X's own default, which need not be the runtime's: ``REDIS_URL = os.getenv("REDIS_URL",
"redis://redis:6379/0")`` at X's module level, a constant (``DEFAULT_REDIS_URL = "..."``), or
the default of a ``url`` parameter of X's ``get_redis``. A wrapper that only re-exports the
runtime (``from rqjobs import get_redis``) has the runtime's default. ``fix
--wrapper-default-url URL`` overrides what is read here.
"""

from __future__ import annotations

import ast
import functools
import os
from dataclasses import dataclass
from typing import Dict, Optional

from flake8_rqjobs.rules.redis_clients import GET_REDIS, RUNTIME_DEFAULT_URL, URL_VARIABLE

RUNTIME = "rqjobs"


@dataclass(frozen=True)
class WrapperDefault:
    """The URL ``get_redis()`` falls back to, and where that was read (for the reasons)."""

    url: Optional[str]  # None: the wrapper defines get_redis without a readable default
    source: str


def module_file(root: str, module: str) -> Optional[str]:
    """``root/a/b.py``, ``root/a/b/__init__.py`` or the same under ``root/src``."""
    parts = module.split(".")
    for base in (root, os.path.join(root, "src")):
        for candidate in (
            os.path.join(base, *parts) + ".py",
            os.path.join(base, *parts, "__init__.py"),
        ):
            if os.path.isfile(candidate):
                return candidate
    return None


def _getenv_default(expr: ast.AST, constants: Dict[str, str]) -> Optional[str]:
    """The literal default of ``os.getenv("REDIS_URL", d)`` / ``os.environ.get(...)`` /
    ``os.getenv("REDIS_URL") or d`` (a module constant counts)."""
    if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or) and len(expr.values) == 2:
        left, right = expr.values
        if _is_env_read(left):
            return _string(right, constants)
    if isinstance(expr, ast.Call) and _is_env_read(expr) and len(expr.args) == 2:
        return _string(expr.args[1], constants)
    if isinstance(expr, ast.Call) and _is_env_read(expr):
        for kw in expr.keywords:
            if kw.arg == "default":
                return _string(kw.value, constants)
    return None


def _is_env_read(expr: ast.AST) -> bool:
    if not isinstance(expr, ast.Call) or not expr.args:
        return False
    first = expr.args[0]
    func = expr.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return (
        name in ("getenv", "get")
        and isinstance(first, ast.Constant)
        and first.value == URL_VARIABLE
    )


def _string(expr: ast.AST, constants: Dict[str, str]) -> Optional[str]:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return expr.value
    if isinstance(expr, ast.Name):
        return constants.get(expr.id)
    return None


def read_default(text: str, source: str) -> WrapperDefault:
    """The default URL of a wrapper module's text (see the module docstring)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return WrapperDefault(None, f"{source} (does not parse)")
    constants: Dict[str, str] = {}
    env_default: Optional[str] = None
    named_default: Optional[str] = None
    own_get_redis: Optional[ast.FunctionDef] = None
    reexported = False
    for statement in tree.body:
        if isinstance(statement, ast.ImportFrom) and statement.module:
            if statement.module.split(".")[0] == RUNTIME and any(
                alias.name in (GET_REDIS, "*") and (alias.asname or alias.name) in (GET_REDIS, "*")
                for alias in statement.names
            ):
                reexported = True
        elif isinstance(statement, ast.FunctionDef) and statement.name == GET_REDIS:
            own_get_redis = statement
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                if not isinstance(target, ast.Name):
                    continue
                value = _string(statement.value, constants)
                if value is not None:
                    constants[target.id] = value
                    if "URL" in target.id.upper() and "DEFAULT" in target.id.upper():
                        named_default = value
                found = _getenv_default(statement.value, constants)
                if found is not None:
                    env_default = found
    if own_get_redis is not None:
        args = own_get_redis.args
        positional = [*args.posonlyargs, *args.args]
        defaults = dict(
            zip([a.arg for a in positional[len(positional) - len(args.defaults) :]], args.defaults)
        )
        defaults.update(
            {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None}
        )
        for name in ("url", "redis_url", "default_url"):
            if name in defaults:
                value = _string(defaults[name], constants) or _getenv_default(
                    defaults[name], constants
                )
                if value is not None:
                    return WrapperDefault(value, f"{source}, get_redis({name}=...)")
        for node in ast.walk(own_get_redis):
            found = _getenv_default(node, constants)
            if found is not None:
                return WrapperDefault(found, f"{source}, its get_redis()")
    if env_default is not None:
        return WrapperDefault(env_default, f"{source}, its REDIS_URL fallback")
    if named_default is not None:
        return WrapperDefault(named_default, f"{source}, its default URL constant")
    if own_get_redis is not None and not reexported:
        return WrapperDefault(None, f"{source}'s own get_redis()")
    return WrapperDefault(RUNTIME_DEFAULT_URL, "the runtime's")


@functools.lru_cache(maxsize=32)
def wrapper_default(root: str, module: str, override: Optional[str]) -> WrapperDefault:
    """What the wrapper module ``module`` of the project at ``root`` falls back to."""
    if override:
        return WrapperDefault(override, "--wrapper-default-url")
    if module == RUNTIME or module.startswith(RUNTIME + "."):
        return WrapperDefault(RUNTIME_DEFAULT_URL, "the runtime's")
    path = module_file(root, module)
    if path is None:
        return WrapperDefault(RUNTIME_DEFAULT_URL, "the runtime's")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError):
        return WrapperDefault(RUNTIME_DEFAULT_URL, "the runtime's")
    return read_default(text, os.path.relpath(path, root).replace(os.sep, "/"))


def _binds(tree: ast.Module, name: str) -> bool:
    """Does the module's top level define ``name`` or import it (``from rqjobs import *``
    counts)?"""
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if statement.name == name:
                return True
        elif isinstance(statement, (ast.Import, ast.ImportFrom)):
            for alias in statement.names:
                if alias.name == "*":
                    module = statement.module if isinstance(statement, ast.ImportFrom) else None
                    if module is not None and module.split(".")[0] == RUNTIME:
                        return True
                elif (alias.asname or alias.name.split(".")[0]) == name:
                    return True
        elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
    return False


@functools.lru_cache(maxsize=64)
def missing_export(root: str, module: str, name: str) -> Optional[str]:
    """Why the wrapper module ``module`` cannot be trusted to offer ``name`` (a runtime call
    newer than most wrappers, such as ``enqueue_at``), or None when it does: the runtime
    itself, or a module of the project whose top level defines or imports ``name``."""
    if module == RUNTIME:
        return None
    by_hand = f"call get_queue(name).{name}(...) by hand"
    path = module_file(root, module)
    if path is None:
        return (
            f"the wrapper module {module} is not in the project, so whether it offers {name}() "
            f"is not known; re-export rqjobs.{name} there and run fix again, or {by_hand}"
        )
    shown = os.path.relpath(path, root).replace(os.sep, "/")
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError, MemoryError):
        return f"the wrapper module {shown} could not be read; {by_hand}"
    if _binds(tree, name):
        return None
    return (
        f"the wrapper module {shown} does not define or re-export {name}(); add "
        f"`from rqjobs import {name}` there and run fix again, or {by_hand}"
    )
