"""python manage.py supervision_report --year 2026 [--output report.png|.pdf]"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from supervision.report import draw, report_lines, year_report


class Command(BaseCommand):
    help = "Yearly supervision summary (declarations, goods value, growth, import/export)."

    def add_arguments(self, parser):
        parser.add_argument("--year", type=int, required=True)
        parser.add_argument(
            "--output",
            default="",
            help="PNG or PDF path (default: var/supervision-report-YEAR.png)",
        )

    def handle(self, *args, year: int, output: str, **options):
        if not 2000 <= year <= 2100:
            raise CommandError("Give a year between 2000 and 2100.")
        path = Path(output) if output else Path(settings.VAR_DIR) / f"supervision-report-{year}.png"
        if path.suffix.lower() not in (".png", ".pdf"):
            raise CommandError("The chart is written as .png or .pdf.")
        report = year_report(year)
        rows = [("figure", "Bondport", "Zhengzhou 2017 (source)"), *report_lines(report)]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        for n, row in enumerate(rows):
            self.stdout.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)))
            if n == 0:
                self.stdout.write("  ".join("-" * w for w in widths))
        draw(report, path)
        self.stdout.write(f"chart written to {path}")
