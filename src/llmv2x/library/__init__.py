"""The MINLP benchmark library: curated P1 problems with certified optima (docs/library.md).

``catalogue`` lists the problems (instance draw, problem variant, objective, formulation);
``build`` writes each one's files and solves it (export, SCIP and Gurobi at a time limit,
the certificate of method ``exact``), resumably; ``index`` counts the models and writes
``index.csv``; ``readback`` checks every certified point and SCIP's bound with SCIP's own
``.nl`` reader; ``cli`` adds ``llmv2x library``.

This ``__init__`` imports nothing heavy: the command-line parser imports ``library.cli``.
"""
