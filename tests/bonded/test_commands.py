import pytest
from django.core.management import CommandError, call_command

from bonded.models import Balance, Move
from bonded.services import stocktake_count, stocktake_open, stocktake_post

pytestmark = pytest.mark.django_db


def write_csv(tmp_path, text: str):
    path = tmp_path / "stock.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_import_stock_receives_every_row_grouped_by_entry(tmp_path, zone, capsys):
    a, b = zone.items[0].item_no, zone.items[1].item_no
    path = write_csv(
        tmp_path,
        "entry_declaration_no,location_code,item_no,quantity\n"
        f"E-100,ZZ-A,{a},5\nE-100,ZZ-A,{b},6\nE-101,ZZ-A,{a},1\n",
    )
    call_command("import_stock", str(path))
    assert Balance.objects.get(item=zone.items[0], location=zone.storage).on_hand == 16
    assert "Imported 3 rows in 2 receipts (12 units)" in capsys.readouterr().out
    call_command("import_stock", str(path))  # the same file again changes nothing
    assert Balance.objects.get(item=zone.items[0], location=zone.storage).on_hand == 16


def test_import_stock_prints_each_bad_row_and_imports_nothing(tmp_path, zone, capsys):
    a = zone.items[0].item_no
    path = write_csv(
        tmp_path,
        "entry_declaration_no,location_code,item_no,quantity\n"
        f"E-100,ZZ-A,{a},5\n,ZZ-A,{a},1\nE-100,C1,{a},1\nE-100,ZZ-A,NOPE,2.5\n",
    )
    moves_before = Move.objects.count()
    with pytest.raises(CommandError, match="3 bad rows; nothing was imported"):
        call_command("import_stock", str(path))
    err = capsys.readouterr().err
    assert "line 3: entry_declaration_no is empty" in err
    assert "line 4: location_code 'C1' is not a bonded storage location" in err
    assert "line 5: item_no 'NOPE' is not a known goods item" in err
    assert "quantity '2.5' must be a whole number" in err
    assert Move.objects.count() == moves_before


def test_import_stock_refuses_a_wrong_header(tmp_path, zone):
    path = write_csv(tmp_path, "item,qty\nX,1\n")
    with pytest.raises(CommandError, match="header must be"):
        call_command("import_stock", str(path))


def test_reconcile_exits_nonzero_and_prints_differences(zone, capsys):
    call_command("reconcile")
    assert "matches" in capsys.readouterr().out
    stocktake_open(reference="ST", location_code="ZZ-A", actor="t")
    stocktake_count(reference="ST", item_no=zone.items[0].item_no, counted=9)
    stocktake_post(reference="ST", reason="lost", actor="t")
    with pytest.raises(SystemExit) as caught:
        call_command("reconcile")
    assert caught.value.code == 1
    out = capsys.readouterr()
    assert zone.items[0].item_no in out.out and "-1" in out.out
    assert "1 differences" in out.err
