# The two commands a newcomer needs: `make demo` and `make test`. Both set the machine up first.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test lint bench scale-bench fuzz soak fresh-check
setup:
	@scripts/bootstrap.sh

# The demo with its web page on a free port (the address and a login are printed).
demo: setup
	$(VENV)/bin/rxedge demo --web 0

# Three workers on two cores: most tests wait on real peers (brokers, serial lines, timeouts),
# not the CPU; the browsers' files are spread among the waiting ones (tests/conftest.py). Four
# were faster still, but tests bound to real time (an ack wait, pcscd's start) then failed now
# and then on a busy machine.
test: setup
	$(PY) -m pytest -q -n 3 --dist loadgroup

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: setup
	$(PY) -m bench

# The scale benchmark alone (also part of make bench): 1,000 simulated gateways against a 3-node
# NATS cluster (one node killed and started again) and against one mosquitto, about 8 minutes
# (docs/scale.md); `$(PY) -m bench.bench_scale --quick` runs a small load in under a minute.
scale-bench: setup
	$(PY) -m bench.bench_scale

# Fuzz every input decoder for a bounded number of examples (FUZZ_EXAMPLES, default 20000 each),
# and the command path over MQTT against the running daemon (FUZZ_MQTT_EXAMPLES, default 2000).
fuzz: setup
	$(PY) -m pytest -q tests/fuzz --hypothesis-profile=fuzz --hypothesis-show-statistics

# The soak test alone, for longer: the daemon as a process under load with the broker restarting
# every minute (SOAK_SECONDS, default 1800; `make test` runs it for 60 s). Prints a summary.
SOAK_SECONDS ?= 1800
soak: setup
	SOAK_SECONDS=$(SOAK_SECONDS) $(PY) -m pytest -q -m soak tests/soak

# First contact, checked: a stock Debian 12 root (debootstrap) gets the committed HEAD and runs
# `make demo` there (and `make test` with FULL=1), as a new user's machine would. Root only;
# about 2 minutes (FULL=1: add the test suite's time). Not part of `make test`.
FULL ?= 0
fresh-check:
	FULL=$(FULL) scripts/fresh-check.sh
