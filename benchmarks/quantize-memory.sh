#!/usr/bin/env bash
# The memory and time of Quantizer.quantize per phase (QuantizeMemory): one model per JVM, ND4J's OpenMP on one
# thread. Usage: benchmarks/quantize-memory.sh MODEL [SAMPLES [BATCH [--live]]]
#   MODEL: mlp:WIDTH, resnet50, vgg16, vgg19 or unet; SAMPLES 32, BATCH 8 by default
# The JVM's caps come from QUANTIZE_MEMORY_OPTS (default -Xmx4g, JavaCPP maxbytes 8G, maxphysicalbytes 12G: the caps
# of the runs in benchmarks/results/quantize-memory-*.txt). The peak resident set includes the committed Java heap,
# which G1 grows towards -Xmx under the range solvers' garbage: compare runs only under the same caps.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
cp_file="$root/benchmarks/target/classpath.txt"
if [ ! -f "$cp_file" ] || [ -z "${QUANTIZE_MEMORY_NO_BUILD:-}" ]; then
    mvn -B -q -o compile dependency:build-classpath -pl benchmarks -am -Dmdep.outputFile="$cp_file" >&2
fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
opts="${QUANTIZE_MEMORY_OPTS:--Xmx4g -Dorg.bytedeco.javacpp.maxbytes=8G -Dorg.bytedeco.javacpp.maxphysicalbytes=12G}"
# shellcheck disable=SC2086
exec java $opts -cp "$root/benchmarks/target/classes:$root/src/target/classes:$root/reference/target/classes:$(cat "$cp_file")" \
    org.quant4j.benchmarks.QuantizeMemory "$@"
