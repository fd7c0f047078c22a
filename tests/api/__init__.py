"""The Python API (the tradeday package), used as its documentation shows."""
