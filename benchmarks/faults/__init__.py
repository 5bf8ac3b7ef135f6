"""`make faults`: the fault-injection tests of tests/faults, repeated, summarised in docs/reliability.md."""
