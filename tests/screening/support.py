"""OFAC SDN list files written exactly as OFAC publishes them (SDN_ADVANCED.XML and SDN.XML), with the parties
a test names, and the list a test screens against."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from oms.context import AppContext
from oms.screening import ofac
from oms.screening import repository as screening_repository
from oms.screening import service as screening

ADVANCED_NS = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML"
LEGACY_NS = "https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/XML"
# The feature types of the real file: an address's currency is named by its FeatureType's text.
FEATURE_TYPES = {"ETH": 345, "XBT": 344, "USDC": 1116, "USDT": 887, "TRX": 887 + 4}

Party = tuple[str, list[tuple[str, str]]]  # (name, [(currency, address)])
COMPLIANCE_TYPES = {
    "transaction.underReview", "transaction.reviewReleased", "transaction.reviewRejected",
    "wallet.depositFrozen", "wallet.depositReleased", "wallet.depositBlocked",
}  # fmt: skip


def advanced_xml(published: date, parties: list[Party]) -> str:
    """SDN_ADVANCED.XML: DateOfIssue, the reference value sets, the parties and their sanctions entries."""
    types = "".join(
        f'<FeatureType ID="{number}" FeatureTypeGroupID="1">Digital Currency Address - {escape(currency)}</FeatureType>'
        for currency, number in FEATURE_TYPES.items()
    )
    distinct, entries = [], []
    for index, (name, addresses) in enumerate(parties):
        ref = 40000 + index
        features = "".join(
            f'<Feature ID="{ref * 10 + n}" FeatureTypeID="{FEATURE_TYPES[currency]}">'
            f'<FeatureVersion ID="{ref * 10 + n}" ReliabilityID="1"><Comment />'
            f'<VersionDetail DetailTypeID="1432">{escape(address)}</VersionDetail></FeatureVersion>'
            f'<IdentityReference IdentityID="{ref}" IdentityFeatureLinkTypeID="1" /></Feature>'
            for n, (currency, address) in enumerate(addresses)
        )
        distinct.append(
            f'<DistinctParty FixedRef="{ref}"><Comment />'
            f'<Profile ID="{ref}" PartySubTypeID="3">'
            f'<Identity ID="{ref}" FixedRef="{ref}" Primary="true" False="false">'
            f'<Alias FixedRef="{ref}" AliasTypeID="1403" Primary="true" LowQuality="false">'
            f'<DocumentedName ID="{ref}" FixedRef="{ref}" DocNameStatusID="1">'
            f'<DocumentedNamePart><NamePartValue NamePartGroupID="{ref}" ScriptID="215" ScriptStatusID="1" '
            f'Acronym="false">{escape(name)}</NamePartValue></DocumentedNamePart></DocumentedName></Alias>'
            f"</Identity>{features}"
            f'<Feature ID="{ref * 10 + 9}" FeatureTypeID="25"><FeatureVersion ID="{ref * 10 + 9}" ReliabilityID="1">'
            f'<Comment /><VersionLocation LocationID="{ref}" /></FeatureVersion></Feature>'
            f"</Profile></DistinctParty>"
        )
        entries.append(
            f'<SanctionsEntry ID="{ref}" ProfileID="{ref}" ListID="1550">'
            f'<EntryEvent ID="{ref}" EntryEventTypeID="1" LegalBasisID="1"><Comment />'
            f'<Date CalendarTypeID="1"><Year>2022</Year><Month>8</Month><Day>8</Day></Date></EntryEvent>'
            f'<SanctionsMeasure ID="{ref}" SanctionsTypeID="1"><Comment>CYBER2</Comment></SanctionsMeasure>'
            f"</SanctionsEntry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<Sanctions xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="{ADVANCED_NS}">'
        f'<DateOfIssue CalendarTypeID="1"><Year>{published.year}</Year><Month>{published.month}</Month>'
        f"<Day>{published.day}</Day></DateOfIssue>"
        '<ReferenceValueSets><AliasTypeValues><AliasType ID="1403">Name</AliasType></AliasTypeValues>'
        '<DetailTypeValues><DetailType ID="1432">Text</DetailType></DetailTypeValues>'
        f'<FeatureTypeValues><FeatureType ID="25" FeatureTypeGroupID="2">Location</FeatureType>{types}'
        "</FeatureTypeValues></ReferenceValueSets>"
        '<Locations><Location ID="1"><LocationCountry CountryID="11070" /></Location></Locations>'
        f"<DistinctParties>{''.join(distinct)}</DistinctParties>"
        f"<SanctionsEntries>{''.join(entries)}</SanctionsEntries>"
        "</Sanctions>\n"
    )


def legacy_xml(published: date, parties: list[Party]) -> str:
    """SDN.XML: publshInformation (OFAC's spelling) and one sdnEntry per party, its addresses in idList."""
    entries = []
    for index, (name, addresses) in enumerate(parties):
        ids = "".join(
            f"<id><uid>{90000 + index * 10 + n}</uid><idType>Digital Currency Address - {escape(currency)}</idType>"
            f"<idNumber>{escape(address)}</idNumber></id>"
            for n, (currency, address) in enumerate(addresses)
        )
        entries.append(
            f"<sdnEntry><uid>{30000 + index}</uid><lastName>{escape(name)}</lastName><sdnType>Entity</sdnType>"
            f"<programList><program>CYBER2</program></programList><idList>{ids}</idList>"
            f"<addressList><address><uid>{70000 + index}</uid><country>Russia</country></address></addressList>"
            f"</sdnEntry>"
        )
    return (
        '<?xml version="1.0" standalone="yes"?>\n'
        f'<sdnList xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns="{LEGACY_NS}">'
        f"<publshInformation><Publish_Date>{published:%m/%d/%Y}</Publish_Date>"
        f"<Record_Count>{len(parties)}</Record_Count></publshInformation>{''.join(entries)}</sdnList>\n"
    )


async def list_addresses(ctx: AppContext, directory: Path, *addresses: str) -> None:
    """Make a list naming ``addresses`` (as ETH addresses) the active one: published a day after the active."""
    async with ctx.db.session_scope() as session:
        active = await screening_repository.active(session)
        published = active.published_on + timedelta(days=1) if active else date(2026, 1, 1)
        path = directory / f"SDN_ADVANCED-{published.isoformat()}.XML"
        parties: list[Party] = [("SCREENING TEST ENTITY", [("ETH", address) for address in addresses])]
        path.write_text(advanced_xml(published, parties or [("NOBODY", [("XBT", "1" * 30)])]))
        await screening.import_publication(session, ofac.read(path), file_name=path.name, now=ctx.clock.now())
