"""The directory's rules, without any store: parsing, row-numbered problems, the tree checks, the demo data."""

from __future__ import annotations

import unicodedata

import pytest

from scheduler.directory.demo import demo_units
from scheduler.directory.units import (
    Unit,
    check_tree,
    children_by_parent,
    fold_diacritics,
    parse_units_csv,
    server_of,
)
from scheduler.errors import InvalidInput

HEADER = "code,name,kind,parent_code,lat,lon,emails\n"
GOOD = (
    HEADER
    + "lc,UBND tỉnh Lào Cai,province,,22.43,104.00,ubnd@laocai.example\n"
    + 'bh,Huyện Bắc Hà,district,lc,22.54,104.29,"a@bh.example; b@bh.example"\n'
    + "bh.nh,Xã Na Hối,commune,bh,22.55,104.30,\n"
)


def problems_of(data: str | bytes) -> list[tuple[object, str]]:
    with pytest.raises(InvalidInput) as caught:
        parsed = parse_units_csv(data.encode() if isinstance(data, str) else data)
        check_tree({}, parsed)
    return [(p.where, p.message.format(**p.params)) for p in caught.value.problems]


def test_parses_rows_with_their_spreadsheet_row_numbers() -> None:
    parsed = parse_units_csv(GOOD.encode())
    assert {code: row for code, (row, _) in parsed.items()} == {"lc": 2, "bh": 3, "bh.nh": 4}
    _, district = parsed["bh"]
    assert district == Unit("bh", "Huyện Bắc Hà", "district", "lc", 22.54, 104.29, ("a@bh.example", "b@bh.example"))


def test_accepts_a_byte_order_mark_and_decomposed_vietnamese() -> None:
    decomposed = unicodedata.normalize("NFD", GOOD)
    parsed = parse_units_csv(b"\xef\xbb\xbf" + decomposed.encode())
    assert parsed["bh.nh"][1].name == "Xã Na Hối"  # stored composed (NFC), so it matches and sorts
    assert unicodedata.is_normalized("NFC", parsed["bh.nh"][1].name)


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        ("x,Xã X,village,bh,22.5,104.3,", "Unknown kind village"),
        ("x,Xã X,commune,nowhere,22.5,104.3,", "Unknown parent unit nowhere"),
        ("x,Xã X,commune,bh,91,104.3,", "Column lat must be between -90 and 90"),
        ("x,Xã X,commune,bh,abc,104.3,", "Column lat is not a number: abc"),
        ("x,Xã X,commune,bh,22.5,,", "Give both lat and lon, or neither"),
        ("x,Xã X,commune,bh,22.5,104.3,not-an-address", "Not an e-mail address: not-an-address"),
        ("bh.nh,Xã Khác,commune,bh,22.5,104.3,", "Code bh.nh already used in row 4"),
        ("x,,commune,bh,22.5,104.3,", "Name is empty"),
        ("x y,Xã X,commune,bh,22.5,104.3,", "Code x y must be"),
        ("x,Xã X,commune,lc,22.5,104.3,", "A commune must hang under: district, cluster"),
        ("x,Xã X,commune,bh,22.5", "Expected 7 cells, found 5"),
    ],
)
def test_a_bad_row_is_named_with_its_number_and_reason(bad_row: str, reason: str) -> None:
    problems = problems_of(GOOD + bad_row + "\n")
    assert len(problems) == 1
    assert problems[0][0] == 5
    assert problems[0][1].startswith(reason)


def test_every_bad_row_is_reported_not_just_the_first() -> None:
    problems = problems_of(GOOD + "x,Xã X,village,bh,,,\n" + "y,Xã Y,commune,bh,1000,1,\n")
    assert [row for row, _ in problems] == [5, 6]


def test_cycles_are_refused_even_across_existing_units() -> None:
    existing = {
        "a": Unit("a", "Cụm A", "cluster", "d"),
        "d": Unit("d", "Huyện D", "district", None),
    }
    # Re-parenting district d under cluster a would make a its own grandparent.
    parsed = parse_units_csv((HEADER + "d,Huyện D,district,a,,,\n").encode())
    with pytest.raises(InvalidInput) as caught:
        check_tree(existing, parsed)
    assert caught.value.problems[0].message == "Unit {code} would be its own ancestor"


def test_changing_a_units_kind_cannot_strand_its_children() -> None:
    existing = check_tree({}, parse_units_csv(GOOD.encode()))
    parsed = parse_units_csv((HEADER + "bh,Huyện Bắc Hà,province,,,,\n").encode())
    with pytest.raises(InvalidInput) as caught:
        check_tree(existing, parsed)
    assert [p.where for p in caught.value.problems] == [2]  # the row that changed bh


def test_wrong_header_and_empty_file_and_wrong_encoding() -> None:
    assert problems_of("code,name\nx,y\n")[0][0] == 1
    assert problems_of(HEADER)[0][1] == "No rows after the header"
    legacy = unicodedata.normalize("NFD", "x,Xã Hà,commune,,,,\n").encode("cp1258")  # old Vietnamese Windows
    assert problems_of(HEADER.encode() + legacy)[0] == (2, "Not UTF-8 text")


def test_a_district_server_is_said_for_the_district_and_its_communes_and_a_file_without_it_keeps_it() -> None:
    with_servers = (HEADER.rstrip("\n") + ",server_url\n"
                    + "lc,UBND tỉnh Lào Cai,province,,,,,\n"
                    + "bh,Huyện Bắc Hà,district,lc,,,,https://bacha.laocai.example:8443/\n"
                    + "bh.cum,Cụm xã Bắc,cluster,bh,,,,\n"
                    + "bh.nh,Xã Na Hối,commune,bh.cum,,,,\n")  # fmt: skip
    units = check_tree({}, parse_units_csv(with_servers.encode()))
    assert units["bh"].server_url == "https://bacha.laocai.example:8443"  # the trailing slash dropped
    assert server_of(units, "bh.nh") == server_of(units, "bh") == "https://bacha.laocai.example:8443"
    assert server_of(units, "lc") == "" and server_of(units, "nowhere") == ""
    # an import of the usual columns changes a name and keeps the server; one that says "" takes it away
    renamed = check_tree(units, parse_units_csv((HEADER + "bh,Huyện Bắc Hà (mới),district,lc,,,\n").encode()))
    assert renamed["bh"].name == "Huyện Bắc Hà (mới)" and server_of(renamed, "bh.nh").startswith("https://bacha")
    cleared = HEADER.rstrip("\n") + ",server_url\nbh,Huyện Bắc Hà,district,lc,,,,\n"
    assert server_of(check_tree(units, parse_units_csv(cleared.encode())), "bh.nh") == ""
    bad = HEADER.rstrip("\n") + ",server_url\nbh,Huyện Bắc Hà,district,lc,,,,javascript:alert(1)\n"
    assert problems_of(bad) == [(2, "Column server_url must be a web address such as https://huyen.example.vn")]


def test_search_folding_forgives_missing_tone_marks() -> None:
    assert fold_diacritics("Đồng Tuyển, Bắc Hà").lower() == "dong tuyen, bac ha"


def test_demo_province_is_lao_cai_with_clusters_and_bac_ha() -> None:
    units = check_tree({}, demo_units())
    kinds = [u.kind for u in units.values()]
    assert kinds.count("province") == 1
    assert kinds.count("district") == 9
    assert kinds.count("cluster") == 6
    assert 140 <= kinds.count("commune") <= 170
    tree = children_by_parent(units)
    assert len(tree["bac-ha"]) == 21
    clusters = [u for u in tree["van-ban"] if u.kind == "cluster"]
    assert len(clusters) == 6 and all(len(tree[c.code]) >= 3 for c in clusters)
    assert all(u.lat is not None and 21.5 < u.lat < 23.0 and 103.5 < (u.lon or 0) < 104.8 for u in units.values())
