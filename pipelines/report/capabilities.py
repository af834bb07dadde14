"""Which breakdowns a vendor's API cannot give, from what each vendor declares it lacks
(`VendorSpec.lacks` in pipelines/vendors.py: fields of sql/vendor_entities.csv) and the fields each
breakdown is built from, declared once here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.vendors import VENDORS


@dataclass(frozen=True)
class Breakdown:
    name: str  # what the report cannot show for a vendor without `needs`
    needs: str  # `entity` or `entity.column` of sql/vendor_entities.csv
    instead: str  # what the analytics relations hold for such a vendor


BREAKDOWNS = (
    Breakdown("retry curve by attempt", "attempts",
              "implied from each contact's attempt count and last outcome (analytics.retry_effectiveness)"),
    Breakdown("failure categories by SIP code", "contacts.error_code",
              "categorised by status alone (analytics.failure_categories)"),
    Breakdown("failure reasons", "contacts.failure_reason", "failures grouped by status (analytics.failure_reasons)"),
    Breakdown("success by hour", "contacts.last_attempt_at", "left out of analytics.hourly_success"),
    Breakdown("hours in the job's own time zone", "jobs.timezone",
              "hours in the report time zone (analytics.hourly_success)"),
)
GAP_COLUMNS = ["vendor", "breakdown", "instead"]


def vendor_gaps(vendors: list[str]) -> list[dict[str, Any]]:
    """Per vendor in the report (a name the registry does not know is left out), each breakdown its API
    cannot give and what the report shows instead."""
    return [{"vendor": vendor, "breakdown": b.name, "instead": b.instead}
            for vendor in vendors if vendor in VENDORS
            for b in BREAKDOWNS if b.needs in VENDORS[vendor].lacks]
