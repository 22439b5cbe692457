"""The rulesets shipped with swrules (TOML data); installed as the package ``swrules._rulesets``."""
