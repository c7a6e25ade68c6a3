# Thermograd: two commands do all set-up on a fresh Debian machine.
#   make demo   build release and run the main job on real data
#   make test   run the test suite
# Both install missing system packages first (scripts/install-deps.sh).

SWIFT ?= swift
RELEASE_BIN = .build/release/thermograd

.PHONY: deps build test demo bench-compare clean

deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release --product thermograd

# Tests run in release (statistical device tests and training loops are too slow in debug) with one
# OpenBLAS thread per test process: Swift Testing already runs tests in parallel.
test: deps
	OPENBLAS_NUM_THREADS=1 $(SWIFT) test -c release

demo: build
	$(RELEASE_BIN) bench blas

clean:
	rm -rf .build
