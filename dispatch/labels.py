"""The waybill label: a Code 128 barcode of the waybill number, drawn as SVG on the server
(python-barcode), so the label page needs no script and prints from any browser."""

import re
from io import BytesIO

from barcode import Code128
from barcode.writer import SVGWriter


def code128_svg(value: str) -> str:
    """An inline <svg> (no XML declaration) of `value` with its human-readable text below."""
    out = BytesIO()
    Code128(value, writer=SVGWriter()).write(
        out, options={"module_width": 0.35, "module_height": 22.0, "font_size": 10,
                      "text_distance": 4.0, "quiet_zone": 4.0}
    )  # fmt: skip
    svg = out.getvalue().decode()
    svg = svg[svg.index("<svg") :]
    # style="fill:black;..." attributes would be refused by our strict CSP (no inline styles):
    # the same properties as SVG presentation attributes are not styles and always apply.
    return re.sub(r'style="([^"]*)"', _presentation_attributes, svg)


def _presentation_attributes(match: re.Match) -> str:
    pairs = [p.split(":", 1) for p in match.group(1).split(";") if ":" in p]
    return " ".join(f'{name.strip()}="{value.strip()}"' for name, value in pairs)
