"""The browser view without a browser: the controls' mapping to scenario overrides, the fixed grid
layout, the SVG drawings, and the whole page rendered headless with `solara.render` (as Mesa's
own visualisation tests do): Step advances the model, the map and the charts; Reset applies the
controls. The real-browser test is tests/test_viz_browser.py."""

import math
import re
import types

import networkx as nx
import numpy as np
import pytest

from simulation.viz import draw, layout, options

SMALL = {"miners": 8}


# controls -> scenario ------------------------------------------------------------------------
def test_population_counts_add_up_and_follow_the_mix():
    base = {"hodl_hasher": 10, "profit_max": 12, "ai_host": 6, "grid_responsive": 8, "adaptive": 4}
    for n in (1, 7, 40, 333):
        for mix in options.mix_choices():
            counts = options.population_counts(base, mix, n)
            assert sum(counts.values()) == n, (mix, n, counts)
    assert options.population_counts(base, "scenario", 40) == base  # the scenario's own split at its own size
    assert options.population_counts(base, "scenario", 20) == {k: v // 2 for k, v in base.items()}
    assert options.population_counts(base, "only ai_host", 9) == {"ai_host": 9}
    even = options.population_counts(base, "even", 10)
    assert sorted(even.values()) == [2, 2, 2, 2, 2]
    with pytest.raises(ValueError, match="strategy_mix"):
        options.population_counts(base, "mostly hodl", 5)


def test_controls_become_dotted_overrides_and_none_keeps_the_scenario():
    assert options.live_params("default") == {"run__agent_log": "none", "run__bus_log": "none"}
    p = options.live_params("default", miners=12, strategy_mix="only profit_max", btc_drift_per_year=0.5,
                            ai_price_usd_per_gpu_hour=3.0, heatwave=True)
    assert p["population__counts"] == {"profit_max": 12}
    assert p["markets__btc_price__drift_per_year"] == 0.5
    assert p["markets__ai__price0_usd_per_gpu_hour"] == 3.0
    assert p["grid__heatwave__start_day"] == options.HEATWAVE_START_DAY
    # heatwave.toml has its own heat wave: "on" keeps it, "off" removes it
    assert "grid__heatwave__start_day" not in options.live_params("heatwave", heatwave=True)
    assert options.live_params("heatwave", heatwave=False)["grid__heatwave__start_day"] == -1


def test_model_params_are_mesa_inputs_with_an_integer_seed_and_every_grid_scenario():
    params = options.model_params(None)
    assert params["rng"]["type"] == "SliderInt" and isinstance(params["rng"]["value"], int)
    assert params["config"]["value"] == "default" and params["config"]["values"][0] == "default"
    files = {p.stem for p in options.CONFIG_DIR.glob("*.toml")}
    assert set(params["config"]["values"]) <= files and {"default", "heatwave", "ai_boom"} <= set(params["config"]["values"])
    assert params["miners"]["value"] == 40  # default.toml's population
    assert params["heatwave"]["value"] is False and options.model_params("heatwave")["heatwave"]["value"] is True
    for spec in params.values():
        assert spec["type"] in ("SliderInt", "SliderFloat", "Select", "Checkbox")
        if spec["type"] == "Select":
            assert spec["value"] in spec["values"]
        elif spec["type"].startswith("Slider"):
            assert spec["min"] <= spec["value"] <= spec["max"]
    with pytest.raises(ValueError, match="config: no scenario file"):
        options.config_path("configs/nope.toml")


# layout ------------------------------------------------------------------------------------
def _grid(ids, lines, **extra):
    fr, to = np.array([a for a, _ in lines]), np.array([b for _, b in lines])
    return types.SimpleNamespace(bus_ids=np.array(ids), n_bus=len(ids), line_from=fr, line_to=to, **extra)


def test_layout_is_seeded_cached_and_indifferent_to_string_bus_ids():
    g = nx.random_regular_graph(3, 30, seed=1)
    lines = list(g.edges())
    a = layout.bus_positions(_grid(list(range(30)), lines))
    b = layout.bus_positions(_grid([f"bus-{i}" for i in range(30)], lines))  # string ids, same topology
    assert a.shape == (30, 2) and np.all((a >= 0) & (a <= 1))
    layout._cache.clear()
    again = layout.bus_positions(_grid(list(range(30)), lines))
    np.testing.assert_array_equal(a, again)  # recomputed from scratch: same seed, same map
    assert layout.bus_positions(_grid(list(range(30)), lines)) is again  # cached
    assert b.shape == (30, 2)


def test_layout_uses_the_grids_own_coordinates():
    x, y = np.array([0.0, 10.0, 10.0]), np.array([0.0, 0.0, 5.0])
    pos = layout.bus_positions(_grid([1, 2, 3], [(0, 1), (1, 2)], bus_x=x, bus_y=y))
    # same shape up to scale: the right angle at bus 2 and the 2:1 aspect survive
    d = pos[1] - pos[0], pos[2] - pos[1]
    assert abs(d[0] @ d[1]) < 1e-12 and math.isclose(np.linalg.norm(d[0]) / np.linalg.norm(d[1]), 2.0)


# drawings ----------------------------------------------------------------------------------
def test_envelope_keeps_every_spike_and_the_time_order():
    x = np.arange(5000.0)
    y = np.sin(x / 300.0)
    y[1234], y[4321] = 50.0, -40.0
    ex, ey = draw.envelope(x, y)
    assert len(ex) <= draw.MAX_POINTS and np.all(np.diff(ex) > 0)
    assert ey.max() == 50.0 and ey.min() == -40.0 and 1234 in ex and 4321 in ex


def test_day_mean_block_interval_is_hours_over_blocks():
    blocks = np.array([6, 0, 5, 7] + [6] * 30, float)
    got = draw.day_mean_interval_s(blocks)
    assert got[0] == 600.0 and got[1] == 1200.0 and got[3] == pytest.approx(4 * 3600 / 18)
    assert got[-1] == pytest.approx(24 * 3600 / blocks[-24:].sum())
    assert np.isnan(draw.day_mean_interval_s(np.array([0.0]))[0])


def test_lmp_colour_scale_is_fixed():
    bins = draw.lmp_bin(np.array([-5.0, 0.0, 10.0, 49.9, 150.0, 5000.0]))
    assert [draw.LMP_LABELS[b] for b in bins] == ["<0", "0-20", "0-20", "35-50", "100-200", ">1k"]


def test_equal_prices_share_one_colour_despite_solver_noise():
    noisy = 20.0 + np.array([-1e-9, 0.0, 3e-10, -4e-12, 1e-7])
    assert len(set(draw.lmp_bin(noisy).tolist())) == 1
    assert draw.lmp_bin(np.array([19.99]))[0] != draw.lmp_bin(np.array([20.0]))[0]  # a real cent still counts


@pytest.mark.parametrize("lo, hi", [(0.2, 0.8), (2.0, 8.0), (20.0, 20.0), (20.0 - 1e-9, 20.0 + 1e-9), (0.0, 0.0),
                                    (586.3, 623.9), (0.0, 3.3e6), (63_812.0, 64_623.0), (1e12, 1.37e12),
                                    (-5.0, 5.0), (0.0, 1e-6), (1.0, 1.0 + 1e-5), (2.21, 2.24)])
def test_axis_ticks_are_nice_numbers_with_distinct_exact_labels(lo, hi):
    a, b, ticks = draw.axis_scale(lo, hi)
    assert a <= lo and b >= hi and a == ticks[0] and b == ticks[-1]
    assert 2 <= len(ticks) <= 11
    step = ticks[1] - ticks[0]
    mant = step / 10 ** math.floor(math.log10(step))
    assert any(math.isclose(mant, m, rel_tol=1e-9) for m in (1, 2, 2.5, 5)), step
    assert np.allclose(np.diff(ticks), step)
    labels = draw.tick_labels(ticks)
    assert len(set(labels)) == len(labels), labels
    size = max(abs(lo), abs(hi))
    if size:  # noise is drawn flat: the axis spans at least MIN_REL_SPAN of the values
        assert b - a >= draw.MIN_REL_SPAN * size * (1 - 1e-9)


def test_tick_labels_read_the_tick_values():
    assert draw.tick_labels([0.0, 0.25, 0.5, 0.75, 1.0]) == ["0.00", "0.25", "0.50", "0.75", "1.00"]
    assert draw.tick_labels([0.0, 2.5, 5.0, 7.5, 10.0]) == ["0.0", "2.5", "5.0", "7.5", "10.0"]
    assert draw.tick_labels([19.9, 19.95, 20.0, 20.05]) == ["19.90", "19.95", "20.00", "20.05"]
    assert draw.tick_labels([0, 1e6, 2e6, 3e6]) == ["0", "1M", "2M", "3M"]
    assert draw.tick_labels([62_000, 64_000, 66_000]) == ["62k", "64k", "66k"]
    assert draw.tick_labels([63_750, 64_000, 64_250]) == ["63.75k", "64.00k", "64.25k"]
    assert draw.tick_labels([-0.5, 0.0, 0.5]) == ["-0.5", "0.0", "0.5"]  # no "-0.0"
    assert draw.tick_label(0.75, 0.25) == "0.75" and draw.tick_label(7.5, 2.5) == "7.5"


def test_chart_series_stay_inside_their_plot():
    n = 200
    h = {"hour": np.arange(n, dtype=float), "blocks": np.r_[np.zeros(30), np.full(n - 30, 6.0)],
         "mean_block_interval_s": np.r_[np.full(30, np.nan), np.full(n - 30, 600.0)]}
    h["blocks"][:30] = 0.0
    h["blocks"][30] = 1.0  # one block after 30 empty hours: the 24 h mean is far above the plot's top
    svg = draw.block_interval_svg(h)
    assert 'clip-path="url(#gp-clip-block)"' in svg and '<clipPath id="gp-clip-block">' in svg
    top = float(svg.split('<clipPath id="gp-clip-block"><rect x="')[1].split('y="')[1].split('"')[0])
    path = svg.split('class="gp-series" d="')[1].split('"')[0]
    ys = [float(p.split(",")[1]) for p in path.replace("M", " ").replace("L", " ").split()]
    assert min(ys) >= top  # capped at the plot's top edge, not drawn above it


def test_power_chart_splits_ai_when_the_model_logs_it_and_security_shows_attack_cost():
    n = 5
    base = {"hour": np.arange(n, dtype=float), "mw_hashing": np.full(n, 100.0), "mw_ai": np.full(n, 50.0),
            "mw_curtailed": np.full(n, 10.0), "network_eh_s": np.full(n, 600.0), "local_eh_s": np.full(n, 1.0),
            "difficulty": np.full(n, 8e13)}
    assert [k for k, _, _ in draw.use_bands(base)] == ["mw_hashing", "mw_ai", "mw_curtailed"]
    svg = draw.power_svg(base)
    assert 'data-band="mw_ai"' in svg and "AI 50" in svg
    later = {**base, "mw_ai_hosting": np.full(n, 30.0), "mw_ai_own_gpu": np.full(n, 20.0),
             "mw_converting": np.full(n, 5.0), "attack_rent_usd_per_h": np.full(n, 2.5e6)}
    assert [k for k, _, _ in draw.use_bands(later)] == ["mw_hashing", "mw_ai_hosting", "mw_ai_own_gpu",
                                                      "mw_converting", "mw_curtailed"]
    svg = draw.power_svg(later)
    assert "AI hosting 30" in svg and "own-GPU AI 20" in svg and "converting 5" in svg
    assert "not logged" in draw.security_svg(base)
    sec = draw.security_svg(later)
    assert "attack hour 2.50 M USD" in sec and "USD per attack hour" in sec and "not logged" not in sec
    # columns that exist but are all NaN (an older model through History) count as absent
    nan = {**base, "mw_ai_hosting": np.full(n, np.nan), "attack_rent_usd_per_h": np.full(n, np.nan)}
    assert [k for k, _, _ in draw.use_bands(nan)] == ["mw_hashing", "mw_ai", "mw_curtailed"]


def test_map_before_the_first_dispatch_has_no_prices_and_nobody_curtailed():
    from simulation.viz.components import map_svg, table_rows
    from simulation.viz.live import LiveModel

    m = LiveModel("default", **SMALL)
    svg = map_svg(m)
    assert 'data-dispatched="0"' in svg and "not dispatched yet" in svg
    assert set(re.findall(r'class="gp-bus"[^>]*fill="([^"]+)"', svg)) == {draw.UNPRICED_COLOUR}
    assert draw.CURTAILED_COLOUR not in svg and "<path" not in svg.split('class="gp-miners"')[1]
    assert all(r["curtailed_mw"] == 0 and r["hash_mw"] == 0 for r in table_rows(m))
    m.step()
    svg = map_svg(m)
    assert 'data-dispatched="1"' in svg and draw.UNPRICED_COLOUR not in svg


def test_map_names_the_buses_of_a_case_that_has_names():
    from simulation.viz.components import map_svg
    from simulation.viz.live import LiveModel

    m = LiveModel("ieee118", miners=20)
    assert m.grid.bus_name is not None and len(m.grid.bus_name) == 118
    svg = map_svg(m)
    labels = re.findall(r"<text[^>]*>([^<]+)</text>", svg.split('class="gp-bus-labels"')[1].split("</g>")[0])
    assert len(labels) == 118 and labels[0] == "Riversde V2"
    assert "bus Riversde V2 (1)" in svg  # tooltip: name and number


def test_map_draws_every_bus_line_and_miner():
    lines = [(0, 1), (1, 2), (2, 0), (2, 3)]
    pos = layout.bus_positions(_grid(["a", "b", "c", "d"], lines))
    svg = draw.grid_map_svg(pos, np.array([a for a, _ in lines]), np.array([b for _, b in lines]),
                            np.array([0.1, 1.0, 0.5, 0.0]), np.array([10.0, 30.0, 2000.0, -1.0]),
                            ["a", "b", "c", "d"], np.array([0, 0, 3]), np.array([10.0, 0.0, 5.0]),
                            np.array([0.0, 20.0, 5.0]), np.array([0.0, 0.0, 5.0]), ["m0", "m1", "m2"])
    assert svg.count('class="gp-bus"') == 4 and svg.count("<line x1") >= 4 and svg.count('class="gp-miner"') == 3
    assert draw.LMP_COLOURS[-1] in svg and draw.LMP_COLOURS[0] in svg  # scarcity and negative prices
    assert draw.loading_colour(1.0) in svg


@pytest.mark.parametrize("kind", list(draw.CHARTS))
def test_charts_draw_empty_short_and_long_series(kind):
    for n in (0, 1, 3000):
        h = {k: np.linspace(1.0, 2.0, n) for k in ("network_eh_s", "local_eh_s", "btc_price_usd",
                                                   "hashprice_usd_per_ph_day", "ai_price_usd_per_gpu_hour",
                                                   "lmp_mean_usd_per_mwh", "mw_hashing", "mw_ai", "mw_curtailed")}
        h.update(hour=np.arange(n, dtype=float), difficulty=np.full(n, 8e13), blocks=np.full(n, 6.0),
                 mean_block_interval_s=np.full(n, 600.0))
        svg = draw.CHARTS[kind](h)
        assert svg.startswith("<svg") and svg.endswith("</svg>") and f'data-points="{n}"' in svg
        assert "nan" not in svg.lower().replace("nanos", "")


# the page, headless ----------------------------------------------------------------------
def _find_button(rc, label):
    import ipyvuetify as v

    return rc.find(v.Btn, children=[label]).widget


def _html(rc, css_class):
    """The HTML widgets carrying `css_class` (our map, charts and table)."""
    import solara.widgets

    return [w.widget for w in rc.find(solara.widgets.HTML) if css_class in w.widget.attributes.get("class", "").split()]


def _one(rc, css_class):
    (w,) = _html(rc, css_class)
    return w


def test_page_steps_and_resets_with_the_controls():
    import ipyvuetify as v
    import solara

    from simulation.viz.components import make_page

    Page = make_page(None, **SMALL)

    @solara.component
    def App():  # `solara run` wraps the page in an AppLayout; Mesa's controls live in its sidebar
        with solara.AppLayout():
            Page()

    box, rc = solara.render(App(), handle_error=False)
    assert _one(rc, "gp-map-card").attributes["data-steps"] == "0"
    for k in range(1, 4):
        _find_button(rc, "Step").click()
        assert _one(rc, "gp-map-card").attributes["data-steps"] == str(k)
    charts = [w.unsafe_innerHTML for w in _html(rc, "gp-chart-card")]
    assert len(charts) == 4 and all('data-points="3"' in c for c in charts)
    table = _one(rc, "gp-table-card").unsafe_innerHTML
    assert table.count("<tr") == 1 + SMALL["miners"]  # header + every miner (fewer than 15)
    head = _one(rc, "gp-map-card").unsafe_innerHTML
    assert "hour <b class=\"gp-hour\">2</b>" in head  # hours count from 0
    assert re.search(r"\(\d{4}-\d\d-\d\d \d\d:\d\d local, UTC-6\)", head)  # the grid's wall clock, zone named

    # controls: 5 miners, all profit_max, seed 7; Reset builds the model from them
    sliders = {w.widget.label.split(":")[0]: w.widget for w in rc.find(v.Slider)}
    assert "Miners: 8" in [w.widget.label for w in rc.find(v.Slider)]  # sliders show their values
    sliders["Miners"].v_model = 5
    sliders["Seed"].v_model = 7
    selects = {w.widget.label: w.widget for w in rc.find(v.Select)}
    selects["Strategy mix"].v_model = "only profit_max"
    _find_button(rc, "Reset").click()
    html = _one(rc, "gp-map-card").unsafe_innerHTML
    assert 'data-miners="5"' in html and 'data-steps="0"' in html
    table = _one(rc, "gp-table-card").unsafe_innerHTML
    assert table.count(">profit_max<") == 5 and table.count("<tr") == 6
    _find_button(rc, "Step").click()
    assert _one(rc, "gp-map-card").attributes["data-steps"] == "1"
    rc.close()


# run.py viz --------------------------------------------------------------------------------
def test_serve_refuses_a_missing_config_and_a_busy_port(capsys):
    import socket

    from simulation.viz.serve import serve, solara_command, solara_env

    assert serve("configs/no_such.toml", port=8765) == 2
    assert "config: no scenario file" in capsys.readouterr().err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        assert serve(None, port=s.getsockname()[1]) == 2
    assert "already in use" in capsys.readouterr().err
    cmd = solara_command("127.0.0.1", 9000)
    assert cmd[1:4] == ["-m", "solara", "run"] and cmd[4].endswith("app.py") and "--production" in cmd
    assert solara_env("heatwave")[options.CONFIG_ENV] == "heatwave"
    assert solara_env("configs/ai_boom.toml")[options.CONFIG_ENV] == str(options.CONFIG_DIR / "ai_boom.toml")


def test_scenario_choice_loads_every_control_and_reset_builds_it_headless():
    import ipyvuetify as v
    import solara

    from simulation.viz.components import make_page

    Page = make_page(None, **SMALL)

    @solara.component
    def App():
        with solara.AppLayout():
            Page()

    box, rc = solara.render(App(), handle_error=False)
    selects = {w.widget.label: w.widget for w in rc.find(v.Select)}
    selects["Strategy mix"].v_model = "only ai_host"
    selects["Scenario"].v_model = "ieee118"
    want = options.model_params("ieee118")
    labels = sorted(w.widget.label for w in rc.find(v.Slider) if w.widget.label.split(":")[0] in
                    {s["label"] for s in want.values()})
    assert "Miners: 1,000" in labels and "Seed: 42" in labels, labels
    sliders = {w.widget.label.split(":")[0]: w.widget for w in rc.find(v.Slider)}
    assert sliders["Miners"].v_model == 1000 and sliders["Miners"].max >= 1000  # not capped at 400
    selects = {w.widget.label: w.widget for w in rc.find(v.Select)}
    assert selects["Strategy mix"].v_model == "scenario"  # back to the scenario's own value
    _find_button(rc, "Reset").click()
    html = _one(rc, "gp-map-card").unsafe_innerHTML
    assert 'data-buses="118"' in html and 'data-miners="1000"' in html
    rc.close()


def test_viz_without_the_extra_says_which_extra_to_install():
    import subprocess
    import sys

    code = ("import sys; sys.modules['solara'] = None; from simulation.cli import main; "
            "sys.exit(main(['viz', '--port', '1']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                       cwd=options.REPO)
    assert r.returncode == 2
    assert "`viz` extra" in r.stderr and "pip install -e '.[viz]'" in r.stderr and "solara" in r.stderr
    assert "Traceback" not in r.stderr and "No module named" not in r.stderr
