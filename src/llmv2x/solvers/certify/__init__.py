"""Certified bounds for the problem family (docs/exact.md, "The problem family under fixed
association"): the row oracle (``oracle``; its kernels in ``rowmath`` and ``rowsearch``), the
per-RSU Lagrangian dual (``dual``), the branch and bound (``bnb``) with its incumbents
(``primal``), and method ``exact`` for variants under a fixed association (``fixed``)."""
