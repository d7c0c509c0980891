"""Backtests against the real chain: the historical drivers of the 2024 backtest (BTC price and
fees per block, `drivers`) and the calibration of the rest of the world's fleet on data before
block 840,000 (`calibration`). Pure: imports nothing of agents, the model, logs or visualisation.
"""
