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
class _Slot:
    """One parameter of a compiled statement: where its value comes from."""

    name: str
    given: bool
    """The caller gives it (else it is fixed in the statement, or a column default)."""
    value: Any = None
    """The value already processed for the driver, when it is fixed."""
    default: Callable[[Any], Any] | None = None
    """A column default worked out at each run (a time, a new empty list)."""
    convert: Processor = None


@dataclass(frozen=True)
class _Form:
    """A statement as one dialect runs it."""

    sql: str
    positional: bool
    slots: tuple[_Slot, ...]
    results: tuple[Processor, ...]
    converts_results: bool


_NO_FORM = _Form(sql="", positional=True, slots=(), results=(), converts_results=False)


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
        self._last: tuple[Dialect | None, _Form] = (None, _NO_FORM)

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
        if dialect is self._last[0]:
            return self._last[1]
        form = self._forms.get(dialect)
        if form is None:
            form = self._forms[dialect] = _compile(self.statement, dialect, self.given)
        self._last = (dialect, form)
        return form

    def _run(self, on: Session | Connection, params: Mapping[str, Any]) -> tuple[_Form, Any]:
        connection = on if isinstance(on, Connection) else connection_of(on)
        form = self.form(connection.dialect)
        values = []
        for slot in form.slots:
            if slot.given:
                try:
                    value = params[slot.name]
                except KeyError:
                    raise ValueError(f"no value given for {slot.name} in: {form.sql}") from None
            elif slot.default is not None:
                value = slot.default(None)
            else:
                values.append(slot.value)
                continue
            values.append(value if slot.convert is None else slot.convert(value))
        parameters: Any = (tuple(values) if form.positional else
                           {slot.name: value for slot, value in zip(form.slots, values,
                                                                    strict=True)})
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

    slots = []
    names = state.positiontup if state.positiontup is not None else list(state.parameters)
    for name in names:
        convert = processor(name)
        if name in defaults:
            default = defaults[name]
            if default.is_callable:
                slots.append(_Slot(name, given=False, default=default.arg, convert=convert))
                continue
            if not default.is_scalar:
                raise ValueError(f"the default of {name} is not one a prepared insert can give")
            value = default.arg
        elif name in required:
            slots.append(_Slot(name, given=True, convert=convert))
            continue
        else:
            value = state.parameters[name]
        slots.append(_Slot(name, given=False, value=value if convert is None
                           else convert(value)))
    results = tuple(column.type.dialect_impl(dialect).result_processor(dialect, None)
                    for column in _result_columns(statement))
    return _Form(sql=state.statement, positional=state.positiontup is not None,
                 slots=tuple(slots), results=results,
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
