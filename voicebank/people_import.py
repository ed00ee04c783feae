"""Adding many people from a spreadsheet: read the CSV, check every row, keep the checked rows.

Nothing here touches the database: the page passes in the numbers Voicebank already knows
and the services' join codes, shows what :func:`check_rows` found, and adds only the rows
it passed. The rows travel to the confirm step sealed with the session's CSRF token
(:func:`seal_rows`), and are checked again there.
"""

from __future__ import annotations

import base64
import binascii
import csv
import hashlib
import hmac
import io
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import ValidationResult

from bot.urns import InvalidURN, normalise_urn
from storage.tables import Role

MAX_BYTES = 1024 * 1024
COLUMNS = ("name", "phone", "service", "role")
REQUIRED = ("name", "phone", "service")
LINE = "line"
"""The key :func:`read_csv` gives each row's line number in the file (as text)."""
NAME_LENGTH = 120
ROLES = tuple(str(role) for role in Role)
NEEDS_A_SERVICE = frozenset({Role.SERVICE_USER, Role.MP})
_SEAL_PURPOSE = b"voicebank people import\n"
_SEALED_LIMIT = 16 * MAX_BYTES


class ImportProblem(ValueError):
    """A file that cannot be read as a list of people; the message says why, kindly."""


@dataclass(frozen=True)
class RowCheck:
    """One row of the file and what the import will do with it."""

    line: int
    name: str
    phone: str
    service: str
    role: str
    urn: str | None = None
    service_id: int | None = None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_row(self) -> dict[str, str]:
        """The row as :func:`read_csv` gave it, to be checked again later."""
        return {LINE: str(self.line), "name": self.name, "phone": self.phone,
                "service": self.service, "role": self.role}


def read_csv(data: bytes) -> list[dict[str, str]]:
    """The rows of a CSV file with the columns name, phone, service and (optionally) role.

    Column names may be in any case and order; a byte-order mark, semicolons or tabs
    instead of commas, and blank lines are all fine. Each row also has its line number
    under :data:`LINE`. Raises :class:`ImportProblem` for a file that is too big, empty,
    not UTF-8 text, or without the columns.
    """
    if len(data) > MAX_BYTES:
        raise ImportProblem("The file is bigger than 1 MB. Split it into smaller files "
                            "and add them one at a time.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportProblem("The file is not a CSV file saved as UTF-8 text. In your "
                            "spreadsheet, choose “Save as” and then “CSV UTF-8”.") from None
    if "\x00" in text:
        raise ImportProblem("The file is not a CSV file. In your spreadsheet, choose "
                            "“Save as” and then “CSV UTF-8”.")
    if not text.strip():
        raise ImportProblem("The file is empty. It needs a first line naming the columns, "
                            "then one person a line.")
    first_line = text.lstrip("\r\n").splitlines()[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        lines = [(reader.line_num, cells) for cells in reader]
    except csv.Error as error:
        raise ImportProblem(f"The file could not be read as CSV ({error}). Check it is "
                            "saved as “CSV UTF-8”.") from None
    rows: list[tuple[int, list[str]]] = []
    last_line = 0
    for line_num, cells in lines:
        if any(cell.strip() for cell in cells):
            rows.append((last_line + 1, cells))
        last_line = line_num
    if not rows:
        raise ImportProblem("The file has no words in it. It needs a first line naming the "
                            "columns, then one person a line.")
    header = [cell.strip().lower() for cell in rows[0][1]]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise ImportProblem(
            "The first line must name the columns: name, phone, service, and role if you "
            f"like. This file has no {' or '.join(missing)} column. Its first line is: "
            f"{', '.join(cell for cell in header if cell) or '(blank)'}.")
    where = {column: header.index(column) for column in COLUMNS if column in header}
    people = []
    for line, cells in rows[1:]:
        row = {LINE: str(line)}
        for column in COLUMNS:
            index = where.get(column)
            row[column] = cells[index].strip() if index is not None and index < len(cells) else ""
        people.append(row)
    if not people:
        raise ImportProblem("The file names the columns but has nobody in it. Put one "
                            "person a line under the first line.")
    return people


def _read_address(phone: str, default_region: str) -> str:
    """A ``tel:`` URN for a number written any usual way; a Telegram URN as it is.

    Beyond :func:`normalise_urn`, a number that could only be dialled locally (``12345``,
    no area code) is refused: nobody can text it.
    """
    written = phone if phone.lower().startswith(("tel:", "telegram:")) else f"tel:{phone}"
    urn = normalise_urn(written, default_region=default_region)
    if urn.startswith("tel:") and phonenumbers.is_possible_number_with_reason(
            phonenumbers.parse(urn.removeprefix("tel:"))) != ValidationResult.IS_POSSIBLE:
        raise InvalidURN(f"{phone!r} is too short to text")
    return urn


def _read_code(written: str) -> str:
    """A join code as people write it on a form: ``oak 3`` or ``OAK-3`` is ``OAK3``."""
    return "".join(written.split()).upper().replace("-", "")


def _read_role(written: str) -> str:
    return "_".join(written.strip().lower().replace("-", " ").split()) or Role.SERVICE_USER


def check_rows(
    rows: list[dict[str, str]],
    *,
    known_numbers: set[str],
    services: Mapping[str, int],
    default_region: str = "GB",
) -> list[RowCheck]:
    """Say, for every row, that it will be added or what is wrong with it, in plain words.

    ``known_numbers`` are the addresses Voicebank already has, as URNs (``tel:+447700900123``);
    ``services`` maps each join code (upper case) to its service's id. A number that appears
    twice in the file is added once, from its first line. A row without a ``line`` key is
    numbered as if the file had one header line and no blank lines.
    """
    checked: list[RowCheck] = []
    first_seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        line = int(row.get(LINE) or index + 2)
        name = " ".join(row.get("name", "").split())
        phone = row.get("phone", "").strip()
        code = _read_code(row.get("service", ""))
        role = _read_role(row.get("role", ""))
        problems = []
        if not name:
            problems.append("There is no name.")
        elif len(name) > NAME_LENGTH:
            problems.append(f"The name is longer than {NAME_LENGTH} letters.")
        urn = None
        if not phone:
            problems.append("There is no phone number.")
        else:
            try:
                urn = _read_address(phone, default_region)
            except InvalidURN:
                problems.append(f"“{phone}” is not a phone number we can read. Write it like "
                                "07700 900123 or +44 7700 900123.")
        if urn is not None:
            if urn in known_numbers:
                problems.append(f"The number {phone} is already in Voicebank.")
            elif urn in first_seen:
                problems.append(f"The number {phone} is also on line {first_seen[urn]}. "
                                "A number can belong to one person only.")
            else:
                first_seen[urn] = line
        service_id = services.get(code) if code else None
        if code and service_id is None:
            problems.append(f"No service has the join code “{row.get('service', '').strip()}”.")
        if role not in ROLES:
            problems.append(f"“{row.get('role', '').strip()}” is not a role. Write one of: "
                            f"{', '.join(ROLES)}, or leave it blank for service_user.")
        elif not code and role in NEEDS_A_SERVICE:
            problems.append("There is no service join code. A service user or MP needs the "
                            "code of the service they go to.")
        checked.append(RowCheck(line=line, name=name, phone=phone, service=code,
                                role=role, urn=None if problems else urn,
                                service_id=None if problems else service_id,
                                problems=tuple(problems)))
    return checked


def _signature(body: str, key: str) -> str:
    return hmac.new(key.encode(), _SEAL_PURPOSE + body.encode(), hashlib.sha256).hexdigest()


def seal_rows(rows: list[dict[str, str]], *, left_out: int, key: str) -> str:
    """The rows to add, and how many were left out, as one signed string for a hidden field.

    Compressed, so the rows of a 1 MB file fit in a form field.
    """
    payload = json.dumps({"rows": rows, "left_out": left_out}, separators=(",", ":"))
    body = base64.urlsafe_b64encode(zlib.compress(payload.encode(), 9)).decode()
    return f"{body}.{_signature(body, key)}"


def open_sealed(sealed: str, *, key: str) -> tuple[list[dict[str, str]], int] | None:
    """The rows and the left-out count :func:`seal_rows` sealed with ``key``; None when the
    string was not made by it with that key, or was changed since."""
    body, _, signature = sealed.strip().rpartition(".")
    if not body or not key or not hmac.compare_digest(signature, _signature(body, key)):
        return None
    try:
        inflate = zlib.decompressobj()
        payload: Any = json.loads(inflate.decompress(base64.urlsafe_b64decode(body),
                                                     _SEALED_LIMIT))
    except (binascii.Error, zlib.error, ValueError):
        return None
    if not isinstance(payload, dict):
        return None
    rows, left_out = payload.get("rows"), payload.get("left_out")
    if not isinstance(rows, list) or not isinstance(left_out, int) or not all(
            isinstance(row, dict) and all(isinstance(value, str) for value in row.values())
            for row in rows):
        return None
    return rows, left_out
