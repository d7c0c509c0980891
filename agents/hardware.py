"""ASIC and GPU catalogue (manufacturer specs; see README "Sources").

Efficiencies from the domain notes: Antminer S9 ~98 J/TH ... S21 XP ~13.5 J/TH. Prices in USD per
TH/s are rough 2024 market figures (~20 USD/TH for <25 J/TH machines), used only for investment.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AsicModel:
    name: str
    th_per_unit: float  # TH/s
    watts: float
    usd_per_th: float  # purchase price, 2024

    @property
    def j_per_th(self) -> float:
        return self.watts / self.th_per_unit


ASIC_MODELS: dict[str, AsicModel] = {
    m.name: m
    for m in (
        AsicModel("S9", 13.5, 1323.0, 1.0),
        AsicModel("S19 Pro", 110.0, 3250.0, 6.0),
        AsicModel("S19 XP", 140.0, 3010.0, 12.0),
        AsicModel("S21", 200.0, 3500.0, 18.0),
        AsicModel("S21 XP", 270.0, 3645.0, 24.0),
    )
}

#: the model bought when miners renew their fleet
NEWEST_ASIC = "S21 XP"

#: NVIDIA H100 class GPU: ~1.3 kW per GPU all-in (DGX H100 ~10.2 kW / 8) times PUE ~1.3.
GPU_KW_ALL_IN = 1.7
#: H100/H200 ~30-40 k USD each in 2024 (filings): the midpoint
GPU_USD = 35_000.0


def asic_model(name: str, where: str = "model") -> AsicModel:
    """Look up a catalogue model by name, with a one-line error listing the known ones."""
    try:
        return ASIC_MODELS[name]
    except KeyError:
        raise ValueError(f"{where}: unknown ASIC model {name!r}; use one of {sorted(ASIC_MODELS)} "
                         "or give th_per_unit and j_per_th explicitly") from None
