"""Record the dispatch LPs of a Texas run (`configs/texas_2024.toml`) for the engine exactness test
(`tests/test_dispatch_engines.py`): every `--every`-th hour of the first `--hours`, as the model
cleared them: demand per bus, available MW and committed floors per unit, and the miners' bids
aggregated into (bus, price) steps (what the LP sees). Saved small: float32 (the test solves the
float64 LP of these rounded values with both engines; it compares engines, not the model's run),
steps as a ragged list.

    .venv/bin/python benchmarks/record_texas_hours.py [--hours 4380] [--every 15] [--miners 3000]
        [--out tests/data/texas_hours.npz]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402

from year_texas import steps, texas_scenario  # noqa: E402
from simulation.model import GridPivotModel  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hours", type=int, default=4380)
    ap.add_argument("--every", type=int, default=15)
    ap.add_argument("--miners", type=int, default=3000)
    ap.add_argument("--out", default=str(ROOT / "tests" / "data" / "texas_hours.npz"))
    args = ap.parse_args(argv)
    sc = texas_scenario(str(ROOT / "configs" / "texas_2024.toml"), args.hours, args.miners)
    model = GridPivotModel(sc, collect_mesa=False)
    cap = model.dispatcher.bid_price_cap_usd_per_mwh
    bid_bus = model.dispatcher.bid_bus
    rec: dict[str, list] = {k: [] for k in ("hour", "demand", "avail", "floor", "step_bus", "step_mw", "step_price")}
    dispatch = model.dispatch_grid

    def recorded(inputs, bid_mw, bid_usd_per_mwh):
        if inputs.hour % args.every == 0:
            demand, bid, price, _ = model.dispatch_inputs(inputs, bid_mw, bid_usd_per_mwh)
            b, mw, p = steps(bid_bus, bid, price, cap)
            floor = inputs.gen_min_mw
            rec["hour"].append(inputs.hour)
            rec["demand"].append(demand.astype(np.float32))
            rec["avail"].append(inputs.gen_available_mw.astype(np.float32))
            rec["floor"].append((np.zeros(model.grid.n_gen) if floor is None else floor).astype(np.float32))
            rec["step_bus"].append(b.astype(np.int16))
            rec["step_mw"].append(mw.astype(np.float32))
            rec["step_price"].append(p.astype(np.float32))
        return dispatch(inputs, bid_mw, bid_usd_per_mwh)

    model.dispatch_grid = recorded
    for _ in range(sc.run.hours):
        model.step()
    n_steps = np.array([len(b) for b in rec["step_bus"]])
    np.savez_compressed(args.out, hour=np.array(rec["hour"]), demand=np.array(rec["demand"]),
                        avail=np.array(rec["avail"]), floor=np.array(rec["floor"]), n_steps=n_steps,
                        step_bus=np.concatenate(rec["step_bus"]), step_mw=np.concatenate(rec["step_mw"]),
                        step_price=np.concatenate(rec["step_price"]), voll=sc.grid.voll_usd_per_mwh,
                        case=sc.grid.case)
    print(f"{len(n_steps)} hours ({n_steps.mean():.0f} bid steps each) -> {args.out} "
          f"({Path(args.out).stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
