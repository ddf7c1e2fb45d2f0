"""Customs message XML: render a batch, validate it against the XSDs, parse it back."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from lxml import etree

from customs.errors import InvalidMessage
from customs.messages_spec import BASE_TRANSFER, MESSAGES

NS = "http://www.chinaport.gov.cn/ceb"
XSD_DIR = Path(__file__).resolve().parent / "xsd"
SHANGHAI = ZoneInfo("Asia/Shanghai")
VERSION = "1.0"
# Field types that carry money: always two decimals (our rule), half up to the fen.
_MONEY_TYPES = {"Money"}


def money(value) -> str:
    try:
        return str(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    except InvalidOperation as exc:
        raise InvalidMessage(f"{value!r} is not an amount of money") from exc


def time14(value: datetime | str) -> str:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(SHANGHAI).strftime("%Y%m%d%H%M%S")


def _q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


def _fill(parent, tag: str, fields, values: dict) -> None:
    element = etree.SubElement(parent, _q(tag))
    for name, typ, required in fields:
        value = values.get(name)
        if value is None or value == "":
            if required:
                raise InvalidMessage(f"{tag}.{name} is required", extra={"field": name})
            continue
        text = money(value) if typ in _MONEY_TYPES else str(value)
        etree.SubElement(element, _q(name)).text = text


def render(
    *, message_type: str, guid: str, records: list[dict], sender_code: str, sender_name: str
) -> bytes:
    """One message carrying a batch: records are {"head": {...}, "lines": [{...}, ...]}."""
    record_tag, head_tag, head_fields, list_tag, list_fields = MESSAGES[message_type]
    root = etree.Element(
        _q(f"{message_type}Message"), nsmap={"ceb": NS}, guid=guid, version=VERSION
    )
    for record in records:
        element = etree.SubElement(root, _q(record_tag))
        _fill(element, head_tag, head_fields, record["head"])
        if list_tag:
            for line in record.get("lines", []):
                _fill(element, list_tag, list_fields, line)
    _fill(
        root,
        "BaseTransfer",
        BASE_TRANSFER,
        {"copCode": sender_code, "copName": sender_name, "dxpMode": "DXP", "dxpId": sender_code},
    )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@cache
def _schema(message_type: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD_DIR / f"{message_type}.xsd")))


def _parse_xml(xml: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        raise InvalidMessage(f"not well-formed XML: {exc}") from exc


def message_type_of(root: etree._Element) -> str:
    tag = etree.QName(root).localname
    if etree.QName(root).namespace != NS or not tag.endswith("Message"):
        raise InvalidMessage(f"unknown root element {root.tag}")
    message_type = tag.removesuffix("Message")
    if message_type not in MESSAGES:
        raise InvalidMessage(f"unknown message type {message_type}")
    return message_type


def validate(xml: bytes) -> str:
    """Raise InvalidMessage unless the XML is valid against its XSD; return its message type."""
    root = _parse_xml(xml)
    message_type = message_type_of(root)
    schema = _schema(message_type)
    if not schema.validate(root):
        errors = "; ".join(f"line {e.line}: {e.message}" for e in list(schema.error_log)[:5])
        raise InvalidMessage(f"{message_type} is not valid: {errors}")
    return message_type


def parse(xml: bytes) -> tuple[str, str, str, list[dict]]:
    """Validate, then return (message type, message guid, sender code, records)."""
    message_type = validate(xml)
    root = _parse_xml(xml)
    record_tag, head_tag, _hf, list_tag, _lf = MESSAGES[message_type]

    def values(element) -> dict:
        return {etree.QName(child).localname: child.text or "" for child in element}

    records = []
    for record in root.findall(_q(record_tag)):
        head = values(record.find(_q(head_tag)))
        lines = [values(line) for line in record.findall(_q(list_tag))] if list_tag else []
        records.append({"head": head, "lines": lines})
    sender = root.find(_q("BaseTransfer")).findtext(_q("copCode"))
    return message_type, root.get("guid"), sender, records
