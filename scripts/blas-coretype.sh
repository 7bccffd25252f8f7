#!/usr/bin/env bash
# Prints the OPENBLAS_CORETYPE for this CPU (SkylakeX with AVX-512, Haswell with AVX2+FMA), or
# nothing. Used by the Makefile so `swift test` runs on the same BLAS kernel as the CLI, which
# picks it itself (Sources/BLAS/KernelSelection.swift explains why).
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
has() { [[ " $flags " == *" $1 "* ]]; }
if has avx512f && has avx512bw && has avx512dq && has avx512vl; then echo SkylakeX
elif has avx2 && has fma; then echo Haswell
fi
