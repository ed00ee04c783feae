"""Reading and checking a spreadsheet of people, with no database: tables of rows in,
what will happen to each row out."""

from __future__ import annotations

import pytest

from voicebank.people_import import (
    MAX_BYTES,
    ImportProblem,
    RowCheck,
    check_rows,
    open_sealed,
    read_csv,
    seal_rows,
)

KNOWN = {"tel:+447700900999", "telegram:555"}
SERVICES = {"OAK3": 1, "WILLOW1": 2}


def row(name: str = "Ann Jones", phone: str = "07700 900123", service: str = "OAK3",
        role: str = "", line: str = "") -> dict[str, str]:
    found = {"name": name, "phone": phone, "service": service, "role": role}
    if line:
        found["line"] = line
    return found


def check_one(given: dict[str, str]) -> RowCheck:
    [checked] = check_rows([given], known_numbers=KNOWN, services=SERVICES)
    return checked


@pytest.mark.parametrize(("given", "urn", "role", "service_id"), [
    (row(), "tel:+447700900123", "service_user", 1),
    (row(phone="+44 7700 900123"), "tel:+447700900123", "service_user", 1),
    (row(phone="+447700900123"), "tel:+447700900123", "service_user", 1),
    (row(phone="(07700) 900-123"), "tel:+447700900123", "service_user", 1),
    (row(phone="tel:07700900123"), "tel:+447700900123", "service_user", 1),
    (row(phone="telegram:123456789"), "telegram:123456789", "service_user", 1),
    (row(phone="+1 202 555 0143"), "tel:+12025550143", "service_user", 1),
    (row(service="oak3"), "tel:+447700900123", "service_user", 1),
    (row(service="oak-3"), "tel:+447700900123", "service_user", 1),
    (row(service="willow1", role="MP"), "tel:+447700900123", "mp", 2),
    (row(role="Service User"), "tel:+447700900123", "service_user", 1),
    (row(role="staff", service=""), "tel:+447700900123", "staff", None),
    (row(role=" admin ", service=""), "tel:+447700900123", "admin", None),
])
def test_a_good_row_will_be_added(given: dict[str, str], urn: str, role: str,
                                  service_id: int | None) -> None:
    checked = check_one(given)

    assert checked.problems == ()
    assert checked.ok
    assert (checked.urn, checked.role, checked.service_id) == (urn, role, service_id)


@pytest.mark.parametrize(("given", "says"), [
    (row(name=""), "There is no name."),
    (row(name="   "), "There is no name."),
    (row(name="A" * 121), "longer than 120 letters"),
    (row(phone=""), "There is no phone number."),
    (row(phone="12"), "“12” is not a phone number we can read"),
    (row(phone="12345"), "“12345” is not a phone number we can read"),
    (row(phone="07700"), "“07700” is not a phone number we can read"),
    (row(phone="tel:12345"), "is not a phone number we can read"),
    (row(phone="telegram:ann"), "is not a phone number we can read"),
    (row(phone="phone me"), "“phone me” is not a phone number we can read"),
    (row(phone="0770090012345678"), "is not a phone number we can read"),
    (row(phone="07700 900999"), "The number 07700 900999 is already in Voicebank."),
    (row(phone="telegram:555"), "already in Voicebank"),
    (row(service="ELM9"), "No service has the join code “ELM9”."),
    (row(service=""), "There is no service join code."),
    (row(service="", role="mp"), "There is no service join code."),
    (row(role="boss"), "“boss” is not a role."),
])
def test_a_row_with_a_problem_says_what_it_is(given: dict[str, str], says: str) -> None:
    checked = check_one(given)

    assert not checked.ok
    assert checked.urn is None
    assert checked.service_id is None
    assert any(says in problem for problem in checked.problems), checked.problems


def test_every_problem_of_a_row_is_listed() -> None:
    checked = check_one(row(name="", phone="12", service="ELM9", role="boss"))

    assert len(checked.problems) == 4


def test_a_number_twice_in_the_file_is_added_from_its_first_line_only() -> None:
    rows = [row(name="Ann", line="2"), row(name="Ben", phone="07700 900456", line="3"),
            row(name="Ann again", phone="+447700900123", line="5")]

    checked = check_rows(rows, known_numbers=set(), services=SERVICES)

    assert [c.ok for c in checked] == [True, True, False]
    assert [c.line for c in checked] == [2, 3, 5]
    assert checked[2].problems == ("The number +447700900123 is also on line 2. "
                                   "A number can belong to one person only.",)


def test_rows_without_line_numbers_are_numbered_after_a_header() -> None:
    checked = check_rows([row(), row(phone="07700 900456")], known_numbers=set(),
                         services=SERVICES)

    assert [c.line for c in checked] == [2, 3]


def test_another_region_reads_national_numbers_its_own_way() -> None:
    [checked] = check_rows([row(phone="(202) 555-0143")], known_numbers=set(),
                           services=SERVICES, default_region="US")

    assert checked.urn == "tel:+12025550143"


@pytest.mark.parametrize(("data", "expected"), [
    (b"name,phone,service,role\nAnn,07700 900123,OAK3,mp\n",
     [{"line": "2", "name": "Ann", "phone": "07700 900123", "service": "OAK3", "role": "mp"}]),
    (b"\xef\xbb\xbfName,PHONE,Service\r\nAnn,07700 900123,OAK3\r\n",
     [{"line": "2", "name": "Ann", "phone": "07700 900123", "service": "OAK3", "role": ""}]),
    (b" Phone ; NAME ;service\n07700 900123;Ann;OAK3\n",
     [{"line": "2", "name": "Ann", "phone": "07700 900123", "service": "OAK3", "role": ""}]),
    (b"name\tphone\tservice\tnotes\nAnn\t07700 900123\tOAK3\tlikes trains\n",
     [{"line": "2", "name": "Ann", "phone": "07700 900123", "service": "OAK3", "role": ""}]),
    (b"name,phone,service\n\nAnn,07700 900123,OAK3\n,,\n\"Ben\nSmith\",07700 900456,OAK3\nCy\n",
     [{"line": "3", "name": "Ann", "phone": "07700 900123", "service": "OAK3", "role": ""},
      {"line": "5", "name": "Ben\nSmith", "phone": "07700 900456", "service": "OAK3",
       "role": ""},
      {"line": "7", "name": "Cy", "phone": "", "service": "", "role": ""}]),
    ("name,phone,service\nSiân Llŷr,07700 900123,OAK3\n".encode(),
     [{"line": "2", "name": "Siân Llŷr", "phone": "07700 900123", "service": "OAK3",
       "role": ""}]),
])
def test_a_csv_file_is_read_into_rows(data: bytes, expected: list[dict[str, str]]) -> None:
    assert read_csv(data) == expected


@pytest.mark.parametrize(("data", "says"), [
    (b"", "The file is empty."),
    (b"  \r\n\n", "The file is empty."),
    (b",,,\n , ,\n", "The file has no words in it."),
    (b"name,phone\nAnn,07700 900123\n", "no service column"),
    (b"who,number,where\nAnn,07700 900123,OAK3\n", "no name or phone or service column"),
    (b"name,phone,service\n", "has nobody in it"),
    (b"name,phone,service\n,,\n", "has nobody in it"),
    ("name,phone,service\nSiân,07700 900123,OAK3\n".encode("cp1252"), "UTF-8"),
    (b"PK\x03\x04\x00\x00binary", "not a CSV file"),
    (b"name,phone,service\n" + b"Ann,07700 900123,OAK3\n" * (MAX_BYTES // 20), "bigger than 1 MB"),
])
def test_a_file_that_cannot_be_read_gets_a_kind_reason(data: bytes, says: str) -> None:
    with pytest.raises(ImportProblem, match=says):
        read_csv(data)


def test_a_file_of_exactly_1_mb_is_read() -> None:
    line = b"Ann,07700 900123,OAK3\n"
    header = b"name,phone,service\n"
    data = header + line * ((MAX_BYTES - len(header)) // len(line))
    data += b" " * (MAX_BYTES - len(data))

    assert len(read_csv(data)) == (MAX_BYTES - len(header)) // len(line)


def test_sealed_rows_open_only_with_the_same_key_and_unchanged() -> None:
    rows = [row(line="2"), row(name="Ben", phone="07700 900456", line="4")]
    sealed = seal_rows(rows, left_out=3, key="csrf-one")
    body, _, signature = sealed.rpartition(".")
    other = seal_rows([row(name="Mallory", line="2")], left_out=0, key="csrf-one")

    assert open_sealed(sealed, key="csrf-one") == (rows, 3)
    assert open_sealed(sealed, key="csrf-two") is None
    assert open_sealed(sealed, key="") is None
    assert open_sealed(f"{other.rpartition('.')[0]}.{signature}", key="csrf-one") is None
    assert open_sealed(f"{body}.{'0' * 64}", key="csrf-one") is None
    assert open_sealed(body, key="csrf-one") is None
    assert open_sealed("", key="csrf-one") is None


def test_the_rows_of_a_full_file_fit_in_a_form_field() -> None:
    rows = [row(name=f"Person {n}", phone=f"07700 9{n:05d}", line=str(n + 2))
            for n in range(30_000)]

    sealed = seal_rows(rows, left_out=0, key="k")

    assert len(sealed) < MAX_BYTES
    assert open_sealed(sealed, key="k") == (rows, 0)
