"""The OFAC SDN list's digital-currency addresses, read from its official published files, streaming (the real
files are about 100 MB) with the standard library's XML parser.

Two of the formats OFAC publishes carry the addresses with the list's publication date:

- ``SDN_ADVANCED.XML`` (the "advanced" format): the root ``Sanctions`` has ``DateOfIssue`` (``Year``, ``Month``,
  ``Day``); ``ReferenceValueSets/FeatureTypeValues`` names each feature type (``<FeatureType ID="345">Digital
  Currency Address - ETH</FeatureType>``); each ``DistinctParties/DistinctParty`` (``FixedRef``) has a
  ``Profile`` whose ``Feature`` elements of such a type hold the address in ``FeatureVersion/VersionDetail``.
- ``SDN.XML`` (the legacy format): the root ``sdnList`` has ``publshInformation/Publish_Date`` (``MM/DD/YYYY``,
  OFAC's own spelling of the element); each ``sdnEntry`` (``uid``) lists its addresses in ``idList/id`` as
  ``idType`` "Digital Currency Address - XBT" and ``idNumber``.

It is parsed with the standard library's streaming parser through ``defusedxml`` (no entities, no DTD). The
namespace differs between the publications (``http://tempuri.org/sdnList.xsd``, ``https://sanctionslistservice
.ofac.treas.gov/api/PublicationPreview/exports/XML``, ``.../ADVANCED_XML``, ``http://www.un.org/sanctions/1.0``):
elements are matched by their local name. The CSV files (``sdn.csv``, ``add.csv``) carry no publication date, so
they are refused: a list without its date cannot be ordered against the one in use.
"""

from __future__ import annotations

import hashlib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException
from eth_utils import is_hex_address, to_checksum_address

PREFIX = "Digital Currency Address - "
ADVANCED = "OFAC SDN list (SDN_ADVANCED.XML)"
LEGACY = "OFAC SDN list (SDN.XML)"


class ListFileError(ValueError):
    """The file is not a readable OFAC SDN list: the message says why, in one line."""


@dataclass(frozen=True, slots=True)
class ListedAddress:
    address: str  # normalised (``normalise``)
    currency: str  # the list's tag after "Digital Currency Address - ": XBT, ETH, USDC, ...
    entry_ref: str  # the listed party in the file: DistinctParty FixedRef, or sdnEntry uid


@dataclass(frozen=True, slots=True)
class Publication:
    source: str
    published_on: date
    sha256: str
    addresses: tuple[ListedAddress, ...]


def normalise(address: str) -> str:
    """How an address is stored and compared: an EVM address checksummed (EIP-55, so any case matches), any other
    as written (base58 and bech32 have their own case rules)."""
    address = address.strip()
    return to_checksum_address(address) if is_hex_address(address) else address


def read(path: Path) -> Publication:
    """The publication in the file at ``path``. Raises ``ListFileError``."""
    try:
        with path.open("rb") as stream:
            source, published_on, addresses = _parse(stream)
        digest = _sha256(path)
    except OSError as exc:
        raise ListFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ET.ParseError as exc:
        raise ListFileError(f"{path.name} is not well-formed XML ({exc})") from None
    except DefusedXmlException as exc:  # an entity or a DTD: no OFAC file has one
        raise ListFileError(f"{path.name} is refused: {type(exc).__name__}") from None
    if published_on is None:
        raise ListFileError(f"{path.name} has no publication date")
    if not addresses:
        raise ListFileError(f"{path.name} lists no digital currency addresses")
    unique = tuple(dict.fromkeys(addresses))
    return Publication(source=source, published_on=published_on, sha256=digest, addresses=unique)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(element: ET.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((child for child in element if _local(child.tag) == name), None)


def _descendants(element: ET.Element, name: str) -> Iterator[ET.Element]:
    return (found for found in element.iter() if _local(found.tag) == name)


def _parse(stream: IO[bytes]) -> tuple[str, date | None, list[ListedAddress]]:
    events = safe_xml.iterparse(stream, events=("start", "end"), forbid_dtd=True)
    _, root = next(events)
    kind = _local(root.tag)
    if kind == "Sanctions":
        return ADVANCED, *_advanced(events)
    if kind == "sdnList":
        return LEGACY, *_legacy(events)
    raise ListFileError(f"not an OFAC SDN list: the root element is <{kind}>, not <Sanctions> or <sdnList>")


def _advanced(events: Iterator[tuple[str, ET.Element]]) -> tuple[date | None, list[ListedAddress]]:
    published_on: date | None = None
    feature_types: dict[str, str] = {}  # FeatureType ID -> currency tag, for the digital-currency types
    found: list[ListedAddress] = []
    path: list[str] = []  # local names from the root's child down to the element
    party = ""
    for event, element in events:
        name = _local(element.tag)
        if event == "start":
            path.append(name)
            if name == "DistinctParty":
                party = element.get("FixedRef", "")
            continue
        if not path:  # the root's end
            break
        path.pop()
        if name == "DateOfIssue" and not path:
            parts = [_text(_child(element, part)) for part in ("Year", "Month", "Day")]
            published_on = _date(parts, "DateOfIssue")
        elif name == "FeatureType":
            label = _text(element)
            if label.startswith(PREFIX):
                feature_types[element.get("ID", "")] = label.removeprefix(PREFIX).strip()
        elif name == "Feature" and element.get("FeatureTypeID") in feature_types:
            currency = feature_types[element.get("FeatureTypeID", "")]
            for detail in _descendants(element, "VersionDetail"):
                if _text(detail):
                    found.append(ListedAddress(normalise(_text(detail)), currency[:16], party[:64]))
        if (len(path) == 1 and path[0] != "DateOfIssue") or not path:
            element.clear()  # a party, an entry, a location, a reference set: read, no longer needed
    return published_on, found


def _legacy(events: Iterator[tuple[str, ET.Element]]) -> tuple[date | None, list[ListedAddress]]:
    published_on: date | None = None
    found: list[ListedAddress] = []
    depth = 1
    for event, element in events:
        if event == "start":
            depth += 1
            continue
        depth -= 1
        if depth != 1:
            continue
        name = _local(element.tag)
        if name == "publshInformation":
            written = _text(_child(element, "Publish_Date"))
            try:
                published_on = datetime.strptime(written, "%m/%d/%Y").date()
            except ValueError:
                raise ListFileError(f"Publish_Date '{written[:40]}' is not a date (MM/DD/YYYY)") from None
        elif name == "sdnEntry":
            uid = _text(_child(element, "uid"))
            for listed in _descendants(element, "id"):
                kind, number = _text(_child(listed, "idType")), _text(_child(listed, "idNumber"))
                if kind.startswith(PREFIX) and number:
                    currency = kind.removeprefix(PREFIX).strip()
                    found.append(ListedAddress(normalise(number), currency[:16], uid[:64]))
        element.clear()
    return published_on, found


def _date(parts: list[str], what: str) -> date:
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise ListFileError(f"{what} {'-'.join(parts)[:40]} is not a date") from None
