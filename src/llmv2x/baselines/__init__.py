"""The paper's baselines (RLOR, RRLO) and simple reference allocations."""
