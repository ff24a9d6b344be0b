"""Draw-rule parameters (draw-rules.md) with their defaults, per deployment and per instance."""

from __future__ import annotations

import tomllib
from fractions import Fraction
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


def _fraction(value: Any) -> Fraction:
    # Shares are parsed exactly ("2/3", "0.6", 0.6) so that ⌈2/3·n⌉ and ⌊0.6·n⌋ never suffer
    # from binary floating point (0.6·5 must be 3, not 2.9999…).
    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool):
        raise ValueError("must be a number or a fraction such as \"2/3\"")
    if isinstance(value, int | float | str):
        try:
            return Fraction(str(value))
        except (ValueError, ZeroDivisionError) as exc:
            raise ValueError("must be a number or a fraction such as \"2/3\"") from exc
    raise ValueError("must be a number or a fraction such as \"2/3\"")


class RuleParams(BaseModel):
    """Every parameter of the draw rules; defaults are the reference configuration."""

    model_config = ConfigDict(frozen=True, extra="ignore", arbitrary_types_allowed=True)

    # C1, C2
    min_size: dict[str, int] = Field(
        default_factory=lambda: {"engineering_tender": 5, "gp_tender": 5, "gp_negotiation": 3}
    )
    gp_large_budget: int = Field(default=10_000_000, ge=0, le=10**15)
    gp_large_min_size: int = Field(default=7, ge=1, le=99)
    # The spec names "the public-tender threshold" without a figure; 4,000,000 CNY is the
    # central-government goods/services threshold (国办发〔2019〕55号). Override per jurisdiction.
    gp_public_tender_threshold: int = Field(default=4_000_000, ge=0, le=10**15)
    gp_negotiation_above_threshold_min_size: int = Field(default=5, ge=1, le=99)
    expert_share: Fraction = Fraction(2, 3)
    # E2, E4, E6, E7, E8
    max_age: int = Field(default=65, ge=18, le=120)
    relation_lookback_years: int = Field(default=3, ge=0, le=100)
    max_per_30d: int = Field(default=4, ge=1, le=1000)
    max_same_tenderer_365d: int = Field(default=2, ge=1, le=1000)
    travel_buffer_minutes: int = Field(default=60, ge=0, le=24 * 60)
    # P1, P2
    max_same_employer: int = Field(default=1, ge=1, le=99)
    familiar_pair_count: int = Field(default=2, ge=1, le=1000)
    familiar_pair_days: int = Field(default=180, ge=1, le=3660)
    # S2, S3, S5, S6
    min_main: int = Field(default=1, ge=0, le=99)
    min_per_aux_site: int = Field(default=1, ge=0, le=99)
    max_main_share: Fraction = Fraction(3, 5)
    max_travel_km: float = Field(default=100.0, gt=0, le=20_100)
    aux_site_count: int = Field(default=2, ge=0, le=20)
    max_local_share: Fraction = Fraction(1, 2)
    # D2 and the randomness report
    alternates_per_need: int = Field(default=2, ge=0, le=100)
    max_predictability: float = Field(default=0.5, gt=0, le=1)

    @field_validator("expert_share", "max_main_share", "max_local_share", mode="before")
    @classmethod
    def _share(cls, value: Any) -> Fraction:
        frac = _fraction(value)
        if not 0 <= frac <= 1:
            raise ValueError("must lie between 0 and 1")
        return frac

    @field_validator("min_size")
    @classmethod
    def _min_size(cls, value: dict[str, int]) -> dict[str, int]:
        for proc, size in value.items():
            if not 1 <= size <= 99:
                raise ValueError(f"min_size[{proc}] must lie between 1 and 99")
        return value

    def merged(self, overrides: dict[str, Any] | None) -> RuleParams:
        """Return a copy with `overrides` applied (validated like the defaults)."""
        if not overrides:
            return self
        data = self.model_dump()
        for key, value in overrides.items():
            # A partial `min_size` overrides only the procedures it names.
            if isinstance(data.get(key), dict) and isinstance(value, dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return RuleParams.model_validate(data)

    def as_json(self) -> dict[str, Any]:
        """Plain JSON-able dict (fractions as "p/q" strings)."""
        out: dict[str, Any] = {}
        for key, value in self.model_dump().items():
            out[key] = f"{value.numerator}/{value.denominator}" if isinstance(value, Fraction) else value
        return out


def load_rules(path: Path | None) -> RuleParams:
    """Read a deployment's TOML rules file over the defaults (None means the defaults)."""
    if path is None:
        return RuleParams()
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return RuleParams().merged(data.get("rules", data))
