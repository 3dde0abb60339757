"""Certified bounds for the problem family (docs/exact.md, "The problem family under fixed
association"): the row oracle (``oracle``, kernels in ``rowmath``), the per-RSU Lagrangian
dual (``dual``), the branch and bound (``bnb``) and the method ``exact`` for variants under a
fixed association (``fixed``)."""
