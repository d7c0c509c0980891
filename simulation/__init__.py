"""gridpivot: Bitcoin miners on a power grid choosing between hashing, AI compute and curtailment."""

#: the package version (pyproject reads it from here; batch workers check theirs against the driver's)
__version__ = "0.1.0"
