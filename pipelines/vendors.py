"""The registered vendors: one line each. Sources, config keys and the models follow from here."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipelines.dialnexa import dialnexa_source
from pipelines.talkifai import talkifai_source
from pipelines.vogent import vogent_source
from pipelines.weya import weya_source


@dataclass(frozen=True)
class VendorSpec:
    name: str
    source: Callable
    required_keys: tuple[str, ...]
    optional_keys: tuple[str, ...] = ("base_url",)

    @property
    def config_keys(self) -> tuple[str, ...]:
        return self.required_keys + self.optional_keys


VENDORS: dict[str, VendorSpec] = {
    "talkifai": VendorSpec("talkifai", talkifai_source, ("api_key", "organization_id")),
    "vogent": VendorSpec("vogent", vogent_source, ("api_key",)),
    "dialnexa": VendorSpec("dialnexa", dialnexa_source, ("api_key",)),
    "weya": VendorSpec("weya", weya_source, ("api_key", "user_id", "base_url"), ()),
}
