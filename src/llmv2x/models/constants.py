"""Fixed floors of docs/formulation.md and the scaling used by the Pyomo builders."""

from __future__ import annotations

#: Floor of every RSU frequency share f_{n,m} (Hz); keeps T_{n,m}^cmp finite.
F_RSU_FLOOR_HZ = 1.0e6
#: Floor of every bandwidth share b_n (Hz); keeps the rate (3) and T^com finite.
B_FLOOR_HZ = 1.0e3
#: Pyomo variables are declared in these units so that IPOPT sees numbers near 1.
HZ_PER_GHZ = 1.0e9
HZ_PER_MHZ = 1.0e6
#: The builders also take psi in GFLOP and the activations in Mbit (see components.py).
FLOP_PER_GFLOP = 1.0e9
BIT_PER_MBIT = 1.0e6
#: Relative tolerance of docs/formulation.md for bounds and per-RSU sums.
FEAS_TOL = 1.0e-9
