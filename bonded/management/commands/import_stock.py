"""Receive stock into bond from a CSV file: every row is checked first, then all or nothing."""

import csv
from collections import defaultdict
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from bonded.errors import LedgerError
from bonded.models import GoodsItem, Location
from bonded.services import StockLine, stock_receive

COLUMNS = ["entry_declaration_no", "location_code", "item_no", "quantity"]


class Command(BaseCommand):
    help = (
        "Receive stock from a CSV with columns entry_declaration_no,location_code,item_no,"
        "quantity. Rows are grouped into one receipt per entry declaration and location. "
        "Nothing is written unless every row is valid. Importing the same file again changes "
        "nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--actor", default="import_stock")

    def handle(self, *args, file: Path, actor: str, **options):
        if not file.exists():
            raise CommandError(f"{file}: no such file")
        with file.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
            header = rows and list(rows[0].keys())
        if not rows:
            raise CommandError(f"{file}: no rows (expected header {','.join(COLUMNS)})")
        if header != COLUMNS:
            raise CommandError(
                f"{file}: header must be {','.join(COLUMNS)}; got {','.join(header)}"
            )

        groups, problems = self.validate(rows)
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(f"{len(problems)} bad rows; nothing was imported.")

        received = 0
        try:
            with transaction.atomic():
                for (entry, location_code), lines in tqdm(
                    groups.items(), desc="receiving", unit="receipt", file=self.stderr
                ):
                    stock_receive(
                        reference=f"IMPORT-{entry}-{location_code}"[:64],
                        location_code=location_code,
                        entry_declaration_no=entry,
                        lines=lines,
                        actor=actor,
                    )
                    received += sum(line.quantity for line in lines)
        except LedgerError as exc:
            raise CommandError(f"{exc.message} Nothing was imported.") from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {len(rows)} rows in {len(groups)} receipts ({received} units)."
            )
        )

    def validate(self, rows: list[dict]) -> tuple[dict, list[str]]:
        items = set(GoodsItem.objects.values_list("item_no", flat=True))
        storage = set(
            Location.objects.filter(kind=Location.Kind.STORAGE, is_active=True).values_list(
                "code", flat=True
            )
        )
        groups: dict[tuple[str, str], list[StockLine]] = defaultdict(list)
        seen: set[tuple[str, str, str]] = set()
        problems = []
        for number, row in enumerate(rows, start=2):  # line 1 is the header
            entry = (row["entry_declaration_no"] or "").strip()
            location_code = (row["location_code"] or "").strip()
            item_no = (row["item_no"] or "").strip()
            quantity = (row["quantity"] or "").strip()
            reasons = []
            if not entry:
                reasons.append("entry_declaration_no is empty")
            if location_code not in storage:
                reasons.append(f"location_code {location_code!r} is not a bonded storage location")
            if item_no not in items:
                reasons.append(f"item_no {item_no!r} is not a known goods item")
            if not quantity.isdigit() or not 0 < int(quantity) <= 1_000_000:
                reasons.append(f"quantity {quantity!r} must be a whole number from 1 to 1000000")
            if (entry, location_code, item_no) in seen:
                reasons.append("the same item appears twice for this entry and location")
            seen.add((entry, location_code, item_no))
            if reasons:
                problems.append(f"line {number}: " + "; ".join(reasons))
            else:
                groups[(entry, location_code)].append(StockLine(item_no, int(quantity)))
        return groups, problems
