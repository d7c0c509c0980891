"""Scenario configuration: the generic TOML loader (`loader`) and the scenario schema (`schema`)."""

from simulation.config.loader import (
    METADATA_KEYS,
    ConfigError,
    check_schema,
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
    "METADATA_KEYS", "ConfigError", "check_schema", "config_from_dict", "config_hash", "config_to_dict",
    "describe_schema", "dump_config", "format_override", "load_config", "toml_inline",
]
