from django.conf import settings
from django.core.management.base import BaseCommand

from demo.roles import DEMO_SHOPPERS, DEMO_USERS
from demo.seed import DEMO_KIOSKS


class Command(BaseCommand):
    help = "Print the demo's URLs and logins (shown by `make run`)."

    def handle(self, *args, **options):
        site = settings.SITE_URL.rstrip("/")
        lines = [
            "",
            "Bondport is starting. Open:",
            f"  storefront  {site}/",
            f"  kiosk       {site}/kiosk/",
            f"  warehouse   {site}/warehouse/  (sign in as warehouse)",
            f"  admin       {site}/admin/",
            f"  API docs    {site}/api/docs/",
            f"  health      {site}/healthz",
            "",
            "Demo logins (admin):",
        ]
        lines += [f"  {u.username:<12} {u.password:<14} {u.description}" for u in DEMO_USERS]
        lines += ["", "Demo shoppers (storefront, password bondport-demo):"]
        lines += [f"  {name:<12} {mobile}  ID {masked}" for name, mobile, masked in DEMO_SHOPPERS]
        lines += ["", f"Demo kiosk keys (sign in at {site}/kiosk/):"]
        lines += [f"  {counter:<12} {key}" for counter, key in DEMO_KIOSKS]
        lines += ["", "Ctrl-C stops every process.", ""]
        self.stdout.write("\n".join(lines))
