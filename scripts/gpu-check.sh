#!/usr/bin/env bash
# The fake-quant, observer and calibration tests on ND4J's CUDA backend, compared with the CPU backend's results.
#
# Needs: an NVIDIA GPU with a driver for CUDA 11.6 (nvidia-smi) and the CUDA 11.6 libraries that nd4j-cuda loads
# (the toolkit's cudart, cuBLAS, cuSOLVER; nd4j-cuda does not bundle them), and the nd4j-cuda-11.6 1.0.0-M2.1
# artifacts (about 575 MB, with their linux-x86_64 natives) in the local Maven repository or reachable through it;
# a machine without a registry needs ~/.m2 copied from one where `mvn -Pcuda -DskipTests package -pl src -am` ran.
#
# Steps (the same source tree, each in the project's own reactor, never `mvn install`):
#   1. CPU backend: BackendParityTest with -Dquant4j.parity.write=OUT/cpu: four reference networks initialized
#      (seeded) and saved there, calibrated on fixed random batches with the Java observers and with the observer
#      ops, their statistics and fake-quant outputs written as text.
#   2. CUDA backend (-Pcuda): the fake-quant, observer and calibration tests (each checks against its own reference,
#      computed in the same JVM), then BackendParityTest with -Dquant4j.parity.compare=OUT/cpu: the same networks
#      loaded, the same batches, statistics and outputs compared with the CPU run's within the tolerances its Javadoc
#      states (two backends' fp32 kernels round differently).
# The logs are OUT/cpu.log and OUT/cuda.log; the script fails when a step fails or when the second run did not run
# on the CUDA backend.
#
# Usage: scripts/gpu-check.sh [OUT]    (default: target/gpu-check under the project root)
#        MVN_ARGS="-o" scripts/gpu-check.sh     (extra Maven arguments, e.g. offline)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/target/gpu-check}"
read -r -a extra <<< "${MVN_ARGS:-}"

if ! command -v nvidia-smi > /dev/null || ! nvidia-smi -L > /dev/null 2>&1; then
    echo "gpu-check: no NVIDIA GPU here (nvidia-smi finds none); run it on a machine with one" >&2
    exit 2
fi
nvidia-smi -L

tests="FakeQuantReferenceTest,ObserverOpsReferenceTest,OpObserversTest,ChannelStatisticsTest,CalibrationSketchTest"
mvn_test=(mvn -B "${extra[@]}" test -pl src -am -Dsurefire.failIfNoSpecifiedTests=false)
mkdir -p "$out"
rm -rf "$out/cpu"

echo "== 1. CPU backend: statistics and fake-quant outputs written to $out/cpu"
if ! "${mvn_test[@]}" -Dtest=BackendParityTest -Dquant4j.parity.write="$out/cpu" > "$out/cpu.log" 2>&1; then
    tail -50 "$out/cpu.log" >&2
    echo "gpu-check: the CPU run failed (log: $out/cpu.log)" >&2
    exit 1
fi
grep -q "backend CpuBackend, writing" "$out/cpu.log" || { echo "gpu-check: the CPU run did not run on the CPU backend" >&2; exit 1; }

echo "== 2. CUDA backend: $tests, then BackendParityTest against the CPU run"
status=0
"${mvn_test[@]}" -Pcuda -Dtest="$tests,BackendParityTest" -Dquant4j.parity.compare="$out/cpu" > "$out/cuda.log" 2>&1 \
    || status=$?
grep -E "^\[(INFO|ERROR|WARNING)\] Tests run:|comparing with|values compared|FAIL" "$out/cuda.log" || true
if ! grep -q "backend JCublasBackend, comparing" "$out/cuda.log"; then
    echo "gpu-check: the second run did not run BackendParityTest on the CUDA backend (log: $out/cuda.log)" >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "gpu-check: tests failed on CUDA (log: $out/cuda.log)" >&2
    exit "$status"
fi
echo "gpu-check: the CUDA backend agrees with the CPU backend (logs in $out)"
