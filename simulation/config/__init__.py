"""Scenario configuration: the TOML loader on pydantic (`loader`), the scenario schema (`schema`)
and its cross-field and data-file rules (`checks`)."""

from simulation.config.loader import (
    ConfigError,
    ConfigModel,
    config_from_dict,
    config_hash,
    config_to_dict,
    describe_schema,
    dump_config,
    format_override,
    load_config,
    toml_inline,
)
from simulation.config.schema import Scenario, load_scenario, resolve_scenario

__all__ = [
    "Scenario", "load_scenario", "resolve_scenario",
    "ConfigError", "ConfigModel", "config_from_dict", "config_hash", "config_to_dict",
    "describe_schema", "dump_config", "format_override", "load_config", "toml_inline",
]
