"""What a vendor package implements: how to page its job list, fingerprint a job and fetch a
job's detail pages. Everything else (change detection, concurrency, packages) is the engine's."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar

from pipelines.http import HttpError, VendorClient
from pipelines.records import Table


class ResponseShapeError(HttpError):
    """A 200 response whose body is not the documented envelope."""


class PartialDetail(HttpError):
    """A job's detail that could not be read whole (Weya's re-walks over tied sort keys fell short):
    the records that did arrive load, the job is recorded as failed and fetched again next run."""


@dataclass(frozen=True)
class ListedJob:
    """A job as its list row shows it. `parts`: detail pages the row promises, fetched as that
    many concurrent `DetailTask`s; 1 (the default) fetches a job's pages in turn."""

    job_id: str
    fingerprint: str
    is_terminal: bool
    parts: int = 1


@dataclass(frozen=True)
class DetailTask:
    """One stream of a job's detail requests: page `part` of the `parts` its list row promised.
    The last part goes on while the vendor says more pages exist (the job grew since it was listed)."""

    job_id: str
    part: int = 1
    parts: int = 1

    @property
    def is_last(self) -> bool:
        return self.part >= self.parts


@dataclass(frozen=True)
class DetailPage:
    """Records for one table from one detail response."""

    table: Table
    endpoint: str
    records: list[Any]


_NONE: Mapping[str, str] = MappingProxyType({})


class VendorApi(ABC):
    """One vendor's API. Optional capabilities are class attributes with a default:

    - `staleness_s`: overrides `[callsync] staleness_s` for a vendor whose list shows no progress
      (0: refetch its open jobs every run); None keeps the configured value;
    - `pii_fields`, `pii_keys`: its personal data (pipelines.pii), from the vendor's settings;
    - `contact_tables`: the detail tables holding a job's contacts, for the progress count (SyncStats.contacts):
      table -> the column naming the contact where several rows are one contact (the calls or dials of one
      number), None where each row is one. A row without that key counts as a contact of its own.
    - `updated_columns`, `open_statuses` and `is_terminal_record`: which of two copies of a record in
      one response loads (engine.copies): the later vendor timestamp, else a final state, else the last copy.
    """

    vendor: ClassVar[str]
    list_endpoint: ClassVar[str]
    jobs_table: Table
    staleness_s: ClassVar[float | None] = None
    pii_fields: ClassVar[Mapping[str, str]] = _NONE
    pii_keys: ClassVar[Mapping[str, str]] = _NONE
    contact_tables: ClassVar[Mapping[str, str | None]] = MappingProxyType({"contacts": None})
    updated_columns: ClassVar[Mapping[str, str]] = _NONE  # table name -> typed column of the vendor's last change
    open_statuses: ClassVar[Mapping[str, frozenset[str]]] = MappingProxyType({})  # detail table -> open statuses

    def is_terminal_record(self, table: Table, row: dict) -> bool:
        """Whether a typed row of `table` is in a final state: a detail record whose status is not open
        (`open_statuses`), a job that `listed_job` calls terminal."""
        open_statuses = self.open_statuses.get(table.name)
        if open_statuses is not None:
            return row["status"] not in open_statuses
        return table.name == self.jobs_table.name and self.listed_job(row).is_terminal

    @abstractmethod
    def list_job_pages(self, client: VendorClient) -> Iterator[list[Any]]:
        """The job list, page by page, as the vendor sends its records."""

    @abstractmethod
    def listed_job(self, row: dict) -> ListedJob:
        """Identity, fingerprint and terminal flag of a typed `jobs` row."""

    @abstractmethod
    def fetch_detail(self, client: VendorClient, task: DetailTask) -> Iterator[DetailPage]:
        """The detail pages of one task (every page of the job when `task.parts` is 1)."""
