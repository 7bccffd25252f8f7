# The two commands of the README: `make demo` (set up, build in release, run the main job)
# and `make test` (set up, run every test). Everything else is a helper for those.
.PHONY: setup demo test bench-kernels

# Tests use the same OpenBLAS kernel as the CLI (which selects it itself; see
# Sources/BLAS/KernelSelection.swift). A value set by the caller wins.
BLAS_CORE := $(or $(OPENBLAS_CORETYPE),$(shell bash scripts/blas-coretype.sh))
BLAS_ENV := $(if $(BLAS_CORE),OPENBLAS_CORETYPE=$(BLAS_CORE)) OPENBLAS_THREAD_TIMEOUT=4

setup:
	@bash scripts/setup.sh

demo: setup
	swift build -c release --product pretrain
	bash scripts/main-job.sh

# PRETRAIN_REQUIRE_DATA: setup has installed the real data, so tests that need it must not skip.
# Then bad input against the release binary (what users run), scripts/release-smoke.sh, and
# 2-rank data parallelism under mpirun against one process, scripts/mpi-check.sh, and the
# Examples package (a user's package depending on this one by path), scripts/examples-check.sh.
test: setup
	$(BLAS_ENV) PRETRAIN_REQUIRE_DATA=1 swift test
	$(BLAS_ENV) bash scripts/release-smoke.sh
	$(BLAS_ENV) bash scripts/mpi-check.sh
	$(BLAS_ENV) bash scripts/examples-check.sh

bench-kernels: setup
	swift build -c release --product pretrain
	.build/release/pretrain bench kernels
