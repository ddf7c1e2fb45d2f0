"""The E-Port client's exchange files: DXP envelope, file names, receipts as XML, atomic writes.

Shared by the E-Port transport (customs/eport.py), the inbox reader (customs/services/
exchange.py) and the stand-in (customs/sandbox/eport_standin.py). Plain Python, no models.

Envelope (the DXP transfer message the E-Port client picks up; element names as in the public
integrations that feed it, e.g. those around Weasley-J/chinaport-data-signature):

    <dxp:DxpMsg xmlns:dxp="http://www.chinaport.gov.cn/dxp" ver="1.0">
      <dxp:TransInfo>
        <dxp:CopMsgId>message guid</dxp:CopMsgId>
        <dxp:SenderId>our DXP id (DXPENT...)</dxp:SenderId>
        <dxp:ReceiverIds><dxp:ReceiverId>DXPEDCCEB0000002</dxp:ReceiverId></dxp:ReceiverIds>
        <dxp:CreatTime>2026-12-03T14:13:41.141+08:00</dxp:CreatTime>
        <dxp:MsgType>CEB311Message</dxp:MsgType>
      </dxp:TransInfo>
      <dxp:Data>base64 of the signed CEB message (UTF-8)</dxp:Data>
    </dxp:DxpMsg>

File names: "<MsgType>_<sender>_<yyyyMMddHHmmssSSS>_<guid>.xml", e.g.
CEB311Message_DXPENT0000000001_20261203141341141_9d55ba71-....xml: the message type first, as
the client sorts its folders by it. Written as ".<name>.part" then renamed: the client (and our
inbox reader) never sees half a file under a final name.

Receipts (CEB312/412/512/514/622/624/626): one ceb:<Kind>Return per record, its ceb:guid the
declaration's guid, with returnStatus / returnTime (yyyyMMddHHmmssSSS, Beijing time) /
returnInfo, plus invtNo on CEB622. CEB900 is the format-error receipt for a message the
exchange could not take at all (not well-formed, not valid, bad signature): ceb:MessageReturn
names the refused message's guid and type and says why.
"""

from __future__ import annotations

import base64
import binascii
import os
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from lxml import etree

NS = "http://www.chinaport.gov.cn/ceb"
DXP = "http://www.chinaport.gov.cn/dxp"
SHANGHAI = ZoneInfo("Asia/Shanghai")
RETURN_TAGS = {
    "CEB312": "OrderReturn",
    "CEB412": "PaymentReturn",
    "CEB512": "LogisticsReturn",
    "CEB514": "LogisticsStatusReturn",
    "CEB622": "InventoryReturn",
    "CEB624": "InvtCancelReturn",
    "CEB626": "InvtRefundReturn",
    "CEB900": "MessageReturn",
}
FORMAT_ERROR = "CEB900"


class ExchangeError(Exception):
    """A file that cannot be read as what it claims to be (the reason goes to quarantine)."""


def _q(tag: str, ns: str = NS) -> str:
    return f"{{{ns}}}{tag}"


def _parse(raw: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        return etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        raise ExchangeError(f"not well-formed XML: {exc}") from exc


def time17(value: datetime) -> str:
    local = value.astimezone(SHANGHAI)
    return local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}"


def parse_time17(value: str) -> datetime | None:
    try:
        parsed = datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=SHANGHAI)
    except (ValueError, TypeError):
        return None
    millis = value[14:17]
    return parsed.replace(microsecond=int(millis) * 1000) if millis.isdigit() else parsed


def file_name(*, msg_type: str, sender: str, guid: str, now: datetime) -> str:
    return f"{msg_type}_{sender}_{time17(now)}_{guid}.xml"


def wrap(*, xml: bytes, guid: str, msg_type: str, sender: str, receiver: str,
         now: datetime) -> bytes:  # fmt: skip
    root = etree.Element(_q("DxpMsg", DXP), nsmap={"dxp": DXP}, ver="1.0")
    info = etree.SubElement(root, _q("TransInfo", DXP))
    etree.SubElement(info, _q("CopMsgId", DXP)).text = guid
    etree.SubElement(info, _q("SenderId", DXP)).text = sender
    receivers = etree.SubElement(info, _q("ReceiverIds", DXP))
    etree.SubElement(receivers, _q("ReceiverId", DXP)).text = receiver
    etree.SubElement(info, _q("CreatTime", DXP)).text = now.astimezone(SHANGHAI).isoformat(
        timespec="milliseconds"
    )
    etree.SubElement(info, _q("MsgType", DXP)).text = msg_type
    etree.SubElement(root, _q("Data", DXP)).text = base64.b64encode(xml).decode()
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def unwrap(raw: bytes) -> dict:
    """{"guid", "sender", "receivers", "msg_type", "created", "xml"} of an envelope."""
    root = _parse(raw)
    if root.tag != _q("DxpMsg", DXP):
        raise ExchangeError(f"not a DXP envelope: root is {root.tag}")
    info = root.find(_q("TransInfo", DXP))
    data = root.findtext(_q("Data", DXP))
    if info is None or not data:
        raise ExchangeError("DXP envelope without TransInfo or Data")
    try:
        xml = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ExchangeError("DXP Data is not base64") from exc
    return {
        "guid": info.findtext(_q("CopMsgId", DXP)) or "",
        "sender": info.findtext(_q("SenderId", DXP)) or "",
        "receivers": [r.text or "" for r in info.iter(_q("ReceiverId", DXP))],
        "msg_type": info.findtext(_q("MsgType", DXP)) or "",
        "created": info.findtext(_q("CreatTime", DXP)) or "",
        "xml": xml,
    }


def render_receipt(*, message_type: str, guid: str, returns: list[dict]) -> bytes:
    """A receipt message; each return {"guid", "orderNo", "returnStatus", "returnTime"
    (datetime), "returnInfo", "invtNo"?, "messageGuid"?, "messageType"?}."""
    tag = RETURN_TAGS[message_type]
    root = etree.Element(_q(f"{message_type}Message"), nsmap={"ceb": NS}, guid=guid, version="1.0")
    for row in returns:
        element = etree.SubElement(root, _q(tag))
        fields = {"guid": row["guid"]}
        if message_type == FORMAT_ERROR:
            fields |= {"messageGuid": row["messageGuid"], "messageType": row["messageType"]}
        else:
            fields["orderNo"] = row.get("orderNo", "")
        if message_type == "CEB622":
            fields["invtNo"] = row.get("invtNo", "")
        fields |= {
            "returnStatus": str(row["returnStatus"]),
            "returnTime": time17(row["returnTime"]),
            "returnInfo": row.get("returnInfo", ""),
        }
        for name, value in fields.items():
            etree.SubElement(element, _q(name)).text = value
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def parse_receipt(xml: bytes) -> tuple[str, str, list[dict]]:
    """(message type, message guid, returns as dicts of their fields)."""
    root = _parse(xml)
    name = etree.QName(root)
    message_type = name.localname.removesuffix("Message")
    if name.namespace != NS or message_type not in RETURN_TAGS:
        raise ExchangeError(f"not a receipt message: {root.tag}")
    returns = []
    for element in root.findall(_q(RETURN_TAGS[message_type])):
        row = {etree.QName(child).localname: (child.text or "") for child in element}
        if not row.get("guid") or not row.get("returnStatus", "").lstrip("-").isdigit():
            raise ExchangeError(f"{message_type} return without guid or numeric returnStatus")
        returns.append(row)
    if not returns:
        raise ExchangeError(f"{message_type} carries no return")
    return message_type, root.get("guid") or "", returns


def write_atomic(folder: Path | str, name: str, raw: bytes) -> Path:
    """Write under a hidden temporary name, flush to disk, then rename into place."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{name}.{uuid.uuid4().hex[:8]}.part"
    with open(temporary, "wb") as handle:
        handle.write(raw)
        handle.flush()
        os.fsync(handle.fileno())
    final = folder / name
    os.replace(temporary, final)
    return final


def ready_files(folder: Path | str, *, settle_seconds: float, now: float) -> list[Path]:
    """Final-named .xml files old enough not to be still being written, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = []
    for entry in os.scandir(folder):
        if not entry.is_file() or entry.name.startswith(".") or not entry.name.endswith(".xml"):
            continue
        mtime = entry.stat().st_mtime
        if now - mtime >= settle_seconds:
            found.append((mtime, entry.name, Path(entry.path)))
    return [path for _m, _n, path in sorted(found)]


def move(path: Path, folder: Path | str) -> Path:
    """Move a file into a folder (same name; a name already there gets a suffix)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{path.stem}.{uuid.uuid4().hex[:8]}{path.suffix}"
    os.replace(path, target)
    return target
