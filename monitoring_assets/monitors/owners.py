"""The model file's owners (``alerting.owners``) as Dagster asset owners.

Dagster accepts an owner only as an email address or a team name prefixed with
``team:``. The model file takes any text (alert routing prints it as is), so the rule is:
an email address or ``team:<name>`` is kept as written; any other owner ``x`` becomes
``team:x`` (``ml-team`` shows as the team ``ml-team``); ``team:`` with no name is an
error naming the model and the owner's position.
"""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

# Dagster's own test of an owner string (not exported at the top level on 1.13).
from dagster._core.definitions.utils import is_valid_owner

from monitoring_assets.core.config import ModelConfig

TEAM_PREFIX = "team:"


def dagster_owners(model: ModelConfig) -> list[str]:
    """``model.alerting.owners`` converted to owners Dagster accepts, in order, once each."""
    owners = []
    for i, raw in enumerate(model.alerting.owners):
        owner = raw.strip()
        if owner.startswith(TEAM_PREFIX) and not owner[len(TEAM_PREFIX) :].strip():
            raise ValueError(
                f"model file: models[{model.name}].alerting.owners[{i}] is {raw!r}: "
                f"'{TEAM_PREFIX}' must be followed by a team name"
            )
        if not owner:
            raise ValueError(f"model file: models[{model.name}].alerting.owners[{i}] is empty")
        owners.append(owner if is_valid_owner(owner) else f"{TEAM_PREFIX}{owner}")
    return list(dict.fromkeys(owners))


def _merged(spec: dg.AssetSpec, owners: Sequence[str]) -> dg.AssetSpec:
    return spec.replace_attributes(owners=list(dict.fromkeys([*spec.owners, *owners])))


def with_owners(asset, owners: Sequence[str]):
    """``asset`` (an ``AssetSpec`` or ``AssetsDefinition``) with ``owners`` added to every
    asset it defines."""
    if not owners:
        return asset
    if isinstance(asset, dg.AssetSpec):
        return _merged(asset, owners)
    if isinstance(asset, dg.AssetsDefinition):
        return asset.map_asset_specs(lambda spec: _merged(spec, owners))
    raise TypeError(f"cannot set owners on {type(asset).__name__} {asset!r}")
