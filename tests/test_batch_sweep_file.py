"""Sweep files: parsing, validation messages, ranges, seed derivation, and the CI arithmetic of
the batch analysis. No model runs here."""

import math
import tomllib

import numpy as np
import pytest

from simulation.analysis.sweeps import mean_ci, t975
from simulation.batch import SweepError, derive_seed, load_sweep
from simulation.config import toml_inline

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def sweep(tmp_path, text: str, name: str = "s.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_example_sweep_loads_and_plans_every_point_times_replications():
    s = load_sweep(ROOT / "configs" / "sweeps" / "halving_prices.toml")
    assert s.n_points == 9 and s.replications == 4 and s.n_runs == 36
    assert s.keys == ["markets.btc_price.drift_per_year", "markets.ai.trend_per_year"]
    assert s.dims[0].values == ((-1.0,), (0.0,), (1.0,))
    runs = list(s.runs())
    assert [r.run_id for r in runs[:5]] == ["p0000-r00", "p0000-r01", "p0000-r02", "p0000-r03", "p0001-r00"]
    assert runs[4].params == {"markets.btc_price.drift_per_year": -1.0, "markets.ai.trend_per_year": 0.0}
    # overrides reach the loader as (key, value) pairs, not as text
    assert ("run.hours", 1008) in runs[0].overrides and ("markets.ai.trend_per_year", 0.0) in runs[4].overrides
    assert len({r.seed for r in runs}) == 36


def test_seed_is_the_spawned_child_and_depends_only_on_root_point_replication():
    # reference: numpy's own spawn tree, SeedSequence(root).spawn(...)[p].spawn(...)[r]
    for root, p, r in [(0, 0, 0), (42, 3, 1), (2024, 17, 5)]:
        child = np.random.SeedSequence(root).spawn(p + 1)[p].spawn(r + 1)[r]
        assert derive_seed(root, p, r) == int(child.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
        assert 0 <= derive_seed(root, p, r) < 2**63
    common = np.random.SeedSequence(9).spawn(3)[2]
    assert derive_seed(9, 5, 2, common=True) == derive_seed(9, 0, 2, common=True) \
        == int(common.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    assert derive_seed(9, 5, 2) != derive_seed(9, 4, 2) != derive_seed(10, 4, 2)


def test_seeds_do_not_change_when_the_sweep_grows(tmp_path):
    small = load_sweep(sweep(tmp_path, 'replications = 2\nseed = 5\n[parameters]\n"run.utc_offset_h" = [-6, -5]\n', "a.toml"))
    big = load_sweep(sweep(tmp_path, 'replications = 3\nseed = 5\n[parameters]\n"run.utc_offset_h" = [-6, -5, -4]\n', "b.toml"))
    a = {(r.point, r.replication): r.seed for r in small.runs()}
    b = {(r.point, r.replication): r.seed for r in big.runs()}
    assert all(b[k] == v for k, v in a.items())


def test_ranges_lists_zip_groups_and_nested_tables(tmp_path):
    s = load_sweep(sweep(tmp_path, """
        [fixed.run]
        hours = 24
        [parameters]
        "markets.btc_price.drift_per_year" = {start = 0.0, stop = 0.3, step = 0.1}
        markets.ai.trend_per_year = {start = -0.2, stop = 0.2, num = 5}
        "run.utc_offset_h" = {start = -8, stop = -2, step = 3}
        [[zip]]
        "markets.btc_price.s0_usd" = [50000.0, 64000.0]
        "bitcoin.fees.btc_per_block" = [0.05, 0.1]
    """))
    assert s.fixed == (("run.hours", 24),)
    assert [v for (v,) in s.dims[0].values] == [0.0, 0.1, 0.2, 0.3]
    assert [v for (v,) in s.dims[1].values] == [-0.2, -0.1, 0.0, 0.1, 0.2]
    assert [v for (v,) in s.dims[2].values] == [-8, -5, -2]
    assert s.dims[3].keys == ("markets.btc_price.s0_usd", "bitcoin.fees.btc_per_block")
    assert s.dims[3].overrides(1) == [("markets.btc_price.s0_usd", 64000.0), ("bitcoin.fees.btc_per_block", 0.1)]
    assert s.n_points == 4 * 5 * 3 * 2


@pytest.mark.parametrize("body, message", [
    ('[parameters]\n"markets.btc.drift_per_year" = [0.1]', "unknown config path 'markets.btc.drift_per_year': markets has no field 'btc'"),
    ('[parameters]\n"run.hoursx" = [1]', "unknown config path 'run.hoursx'"),
    ('[parameters]\n"run.hours" = []', "parameters.run.hours: empty list"),
    ('[parameters]\n"run.hours" = 24', "parameters.run.hours: give a list of values or a range"),
    ('[parameters]\n"run.hours" = {start = 1, stop = 10}', "parameters.run.hours: a range needs exactly one of step or num"),
    ('[parameters]\n"run.hours" = {start = 10, stop = 1, step = 1}', "never gets from start 10 to stop 1"),
    ('[parameters]\n"run.hours" = {start = 1, stop = 10, step = 0}', "step must not be 0"),
    ('[parameters]\n"run.hours" = {start = 1, stop = 10, num = 0}', "num must be an integer >= 1"),
    ('[parameters]\n"run.hours" = {start = 1, stop = 10, by = 2}', "unknown range key(s) by"),
    ('[parameters]\n"run.hours" = [24, -5]', "run.hours=-5"),
    ('[parameters]\n"run.seed" = [1, 2]', "run.seed is set per run"),
    ('[fixed]\n"run.hours" = 24\n[parameters]\n"run.hours" = [1, 2]', "'run.hours' is given twice"),
    ('[[zip]]\n"run.hours" = [1, 2]\n"markets.ai.trend_per_year" = [0.1]', "zip[0]: keys vary together so need equal lengths"),
    ('replications = 0', "replications must be an integer >= 1"),
    ('seed = -1', "seed must be an integer >= 0"),
    ('base = "nope.toml"', "base = 'nope.toml': no such scenario file"),
    ('paramters = {}', "unknown key 'paramters'"),
    ('[fixed]\n"grid.nonsense" = 1', "unknown config path 'grid.nonsense'"),
])
def test_validation_errors_are_one_line_and_name_the_key(tmp_path, body, message):
    with pytest.raises(SweepError) as e:
        load_sweep(sweep(tmp_path, body))
    text = str(e.value)
    assert message in text and "\n" not in text and "s.toml" in text


def test_toml_values_round_trip_through_tomllib():
    for v in [0.1, 1e-05, 1e20, -3, True, "ieee14", 'a "q"', [1, 2.5], {"profit_max": 3, "ai host": 1}, {}, math.inf]:
        text = toml_inline(v)
        assert tomllib.loads(f"v = {text}")["v"] == v, text


def test_t_quantiles_match_scipy_and_the_interval_covers_the_mean():
    stats = pytest.importorskip("scipy.stats")
    for df in [1, 2, 3, 5, 9, 29, 30, 35, 50, 99, 200, 10_000]:
        assert t975(df) == pytest.approx(stats.t.ppf(0.975, df), abs=2e-3)
    m, lo, hi, n = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert (m, n) == (2.5, 4)
    assert hi - m == pytest.approx(stats.t.ppf(0.975, 3) * np.std([1, 2, 3, 4], ddof=1) / 2, rel=1e-4)
    assert math.isnan(mean_ci([5.0])[1]) and mean_ci([5.0])[0] == 5.0
