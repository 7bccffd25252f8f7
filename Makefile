# The two commands of the README: `make demo` (set up, build in release, run the main job)
# and `make test` (set up, run every test). Everything else is a helper for those.
.PHONY: setup demo test bench-kernels

setup:
	@bash scripts/setup.sh

demo: setup
	swift build -c release --product pretrain
	.build/release/pretrain bench kernels

test: setup
	swift test

bench-kernels: setup
	swift run -c release pretrain bench kernels
