"""Compare the customs account book with physical stock under bond; exit 1 on any difference."""

import sys

from django.core.management.base import BaseCommand

from bonded.services import reconcile


class Command(BaseCommand):
    help = "Print every difference between the account book and stock under bond (exit 1 if any)."

    def add_arguments(self, parser):
        parser.add_argument("--warehouse", help="warehouse code (default: all)")
        parser.add_argument("--all", action="store_true", help="print matching records too")

    def handle(self, *args, warehouse=None, all=False, **options):
        lines = reconcile(warehouse_code=warehouse, differences_only=not all)
        differences = [line for line in lines if line.difference]
        header = (
            f"{'warehouse':<10} {'record':>6} {'item':<14} {'book':>8} {'physical':>9} {'diff':>6}"
        )
        self.stdout.write(header)
        for line in lines:
            record = line.record_no if line.record_no is not None else "-"
            self.stdout.write(
                f"{line.warehouse_code:<10} {record!s:>6} {line.item_no:<14} "
                f"{line.book_balance:>8} {line.physical:>9} {line.difference:>+6}"
            )
        if differences:
            self.stderr.write(f"{len(differences)} differences between book and stock.")
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("Account book matches stock under bond."))
