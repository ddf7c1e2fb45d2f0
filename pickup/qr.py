"""QR images as inline SVG (qrcode's SVG factory: no Pillow, no files)."""

import io

import qrcode
import qrcode.image.svg


def qr_svg(data: str, *, box_size: int = 10) -> str:
    """An <svg> element encoding `data`, sized by the page's CSS."""
    image = qrcode.make(
        data, image_factory=qrcode.image.svg.SvgPathImage, box_size=box_size, border=2
    )
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg") :]  # drop the XML declaration: it is inlined into HTML
