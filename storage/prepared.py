"""Statements that every message runs, compiled once and run straight on the driver.

Handling one survey answer takes a dozen small statements. Through SQLAlchemy's
``Connection.execute`` each costs far more in Python than the database spends on it: an
execution context, parameter processing and a result object, every time. A
:class:`Prepared` statement is an ordinary SQLAlchemy Core statement, compiled once per
database dialect, that runs on the driver's cursor of a SQLAlchemy ``Connection``, in that
connection's transaction. Values go in and out through the same type processors SQLAlchemy
would use (UTC times, JSON, booleans), errors come out as SQLAlchemy's own exceptions,
and the engine's ``before_cursor_execute`` and ``after_cursor_execute`` events still fire
when something listens (a statement tally, tracing). Engine-level ``echo`` does not log
these statements.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, exc, update
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None
_NOTHING: Mapping[str, Any] = {}


@dataclass(frozen=True)
class _Form:
    """A statement as one dialect runs it."""

    sql: str
    positional: bool
    names: tuple[str, ...]
    """The parameters in the order the statement takes them."""
    values: tuple[Any, ...]
    """Each parameter's value as the driver takes it, where the statement fixes it (a status
    in a WHERE, a column's default); None where it comes from the caller or a default."""
    given: tuple[tuple[int, str, Processor], ...]
    """Where each of the caller's values goes, and what converts it for the driver."""
    defaults: tuple[tuple[int, Callable[[Any], Any], Processor], ...]
    """Column defaults worked out at each run (a time, a new empty list), and where they go."""
    results: tuple[Processor, ...]
    converts_results: bool


class Prepared:
    """A Core statement with its compiled form kept per dialect, run on the driver's cursor.

    ``given`` names, for an INSERT, the columns the caller gives values for; the others get
    their Python-side defaults here, as SQLAlchemy would give them. Lists in ``IN`` are fixed
    when the statement is built; a parameter whose value is a list is not supported.
    """

    def __init__(self, statement: ClauseElement, *, given: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.given = list(given) if given is not None else None
        self._forms: weakref.WeakKeyDictionary[Dialect, _Form] = weakref.WeakKeyDictionary()

    def rows(self, on: Session | Connection,
             params: Mapping[str, Any] = _NOTHING) -> list[tuple[Any, ...]]:
        """Run the statement in the transaction of ``on`` (a session or a connection) and
        return every row it gives, as plain tuples."""
        form, cursor = self._run(on, params)
        try:
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        if not form.converts_results:
            return [tuple(row) for row in fetched]
        results = form.results
        return [tuple(value if convert is None else convert(value)
                      for convert, value in zip(results, row, strict=True)) for row in fetched]

    def write(self, on: Session | Connection, params: Mapping[str, Any] = _NOTHING) -> int:
        """Run an INSERT, UPDATE or DELETE without results in the transaction of ``on``; how
        many rows it touched."""
        _form, cursor = self._run(on, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def form(self, dialect: Dialect) -> _Form:
        """The statement as ``dialect`` runs it, compiled the first time it is asked for."""
        form = self._forms.get(dialect)
        if form is None:
            form = self._forms[dialect] = _compile(self.statement, dialect, self.given)
        return form

    def _run(self, on: Session | Connection, params: Mapping[str, Any]) -> tuple[_Form, Any]:
        connection = on if isinstance(on, Connection) else connection_of(on)
        form = self.form(connection.dialect)
        values = list(form.values)
        try:
            for index, name, convert in form.given:
                value = params[name]
                values[index] = value if convert is None else convert(value)
        except KeyError as missing:
            raise ValueError(f"no value given for {missing.args[0]} in: {form.sql}") from None
        for index, default, convert in form.defaults:
            value = default(None)
            values[index] = value if convert is None else convert(value)
        parameters: Any = (tuple(values) if form.positional
                           else dict(zip(form.names, values, strict=True)))
        if not connection.in_transaction():
            connection.begin()  # as Connection.execute would begin one
        return form, run_on_driver(connection, form.sql, parameters)


_HELD = "voicebank.connection"


def connection_of(session: Session) -> Connection:
    """The connection of the session's transaction. ``Session.connection()`` works it out
    afresh at every call, which costs more than a small statement; it is remembered in the
    session's ``info`` until that connection closes (the transaction ended)."""
    held: Connection | None = session.info.get(_HELD)
    if held is None or held.closed:
        held = session.info[_HELD] = session.connection()
    return held


def hold_connection(session: Session, connection: Connection) -> None:
    """Tell :func:`connection_of` the session works in ``connection``'s transaction."""
    session.info[_HELD] = connection


def run_on_driver(connection: Connection, sql: str, parameters: Any = ()) -> Any:
    """Run ``sql`` on a new cursor of the connection's driver connection, as SQLAlchemy would
    (its cursor events fire, a driver error comes out as SQLAlchemy's); the cursor, to read
    and close."""
    cursor = connection.connection.cursor()
    dispatch = connection.dispatch
    if dispatch.before_cursor_execute:
        for before in dispatch.before_cursor_execute:
            before(connection, cursor, sql, parameters, None, False)
    try:
        cursor.execute(sql, parameters)
    except connection.dialect.loaded_dbapi.Error as error:
        cursor.close()
        raise exc.DBAPIError.instance(sql, parameters, error, connection.dialect.loaded_dbapi.Error,
                                      dialect=connection.dialect) from error
    if dispatch.after_cursor_execute:
        for after in dispatch.after_cursor_execute:
            after(connection, cursor, sql, parameters, None, False)
    return cursor


def _compile(statement: ClauseElement, dialect: Dialect, given: list[str] | None) -> _Form:
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect, column_keys=given))
    required = {name for name, bind in compiled.binds.items() if bind.required}
    if given is None and getattr(statement, "is_dml", False):
        # Compiled as SQLAlchemy compiles it for execute() with these parameters, so a name
        # it reserves for a column (a WHERE person_id = :person_id) fails here as it would.
        compiled = cast(SQLCompiler, statement.compile(dialect=dialect,
                                                       column_keys=sorted(required)))
    if getattr(compiled, "escaped_bind_names", None):
        raise ValueError("a prepared statement's parameters must have plain names")
    if any(compiled.binds[name].expanding for name in required):
        raise ValueError("a prepared statement fixes its IN lists when it is built")
    state = compiled.construct_expanded_state(dict.fromkeys(required))
    expanded_from = {part: name for name, parts in state.parameter_expansion.items()
                     for part in parts}
    defaults = {column.key: column.default for column in
                (*getattr(compiled, "insert_prefetch", ()),
                 *getattr(compiled, "update_prefetch", ()))}

    def processor(name: str) -> Processor:
        bind = compiled.binds[expanded_from.get(name, name)]
        convert: Processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        return convert

    names = state.positiontup if state.positiontup is not None else list(state.parameters)
    values: list[Any] = []
    from_caller: list[tuple[int, str, Processor]] = []
    worked_out: list[tuple[int, Callable[[Any], Any], Processor]] = []
    for index, name in enumerate(names):
        convert = processor(name)
        value = None
        if name in defaults and defaults[name].is_callable:
            worked_out.append((index, defaults[name].arg, convert))
        elif name in defaults:
            if not defaults[name].is_scalar:
                raise ValueError(f"the default of {name} is not one a prepared insert can give")
            value = defaults[name].arg if convert is None else convert(defaults[name].arg)
        elif name in required:
            from_caller.append((index, name, convert))
        else:
            fixed = state.parameters[name]
            value = fixed if convert is None else convert(fixed)
        values.append(value)
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                    for column in _result_columns(statement))
    return _Form(sql=state.statement, positional=state.positiontup is not None,
                 names=tuple(names), values=tuple(values), given=tuple(from_caller),
                 defaults=tuple(worked_out), results=results,
                 converts_results=any(convert is not None for convert in results))


def updating(table: Table, *, keys: Sequence[str], columns: Sequence[str] = (),
             **fixed: Any) -> Update:
    """``UPDATE table SET … WHERE …`` for a prepared statement: the row chosen by the
    ``key_<column>`` parameters, its ``columns`` set from ``new_<column>`` ones and the
    ``fixed`` columns to those values (names SQLAlchemy lets a parameter have)."""
    return (update(table)
            .where(*(table.c[name] == bindparam(f"key_{name}") for name in keys))
            .values({**{name: bindparam(f"new_{name}") for name in columns}, **fixed}))


def _result_columns(statement: ClauseElement) -> Sequence[Any]:
    exported = getattr(statement, "exported_columns", None)
    return list(exported) if exported is not None else []
