# callrec: every target works on a fresh Debian 12 machine (root), installing what it needs.
#   make demo   - sandbox Asterisk + PostgreSQL up, controller running, one complete inbound call,
#                 then two outbound calls: one answered (recording opens with the disclosure),
#                 one to an answering machine (voicemail script left, nothing recorded)
#   make test   - the whole suite against the same real servers
#   make bench  - benchmarks (results in docs/)
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export VENV

.PHONY: deps sandbox sandbox-down test test-unit demo lint clean bench-load

deps:
	scripts/install-deps.sh

sandbox: deps
	CALLREC_SKIP_DEPS=1 scripts/sandbox.sh up

sandbox-down:
	scripts/sandbox.sh down

test: sandbox lint
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

test-unit: deps
	$(PY) -m pytest -q -p no:cacheprovider -m "not e2e and not pg" tests/policy tests/audio tests/ari \
		tests/ami tests/controller tests/bench tests/dialer

demo: sandbox
	$(PY) scripts/demo.py

lint: deps
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(PY) -m mypy src

clean:
	rm -rf build dist src/*.egg-info .pytest_cache .hypothesis

bench-load: sandbox
	$(PY) -m benchmarks.load.run

.PHONY: bench
bench: sandbox
	$(PY) -m benchmarks.run $(BENCH_ARGS)

# Fault injection, repeated (not part of `make test`, which runs each fault once): writes
# docs/reliability.md. Drives the sandbox Asterisk: `flock -o /tmp/callrec-sandbox.lock make faults`
# (-o: an Asterisk that `sandbox` starts must not inherit the lock's descriptor and hold it forever).
FAULT_TRIALS ?= 100
.PHONY: faults
faults: sandbox
	$(PY) -m benchmarks.faults.run --trials $(FAULT_TRIALS)
