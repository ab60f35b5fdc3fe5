#!/usr/bin/env bash
# Runs benchmarks/quantize-memory.sh on each model of the sweep, one after another, and writes each output with its
# command and machine to benchmarks/results/quantize-memory-<model>-<label>.txt; then plots the RESULT lines
# (QuantizeMemoryPlot: time and peak resident set against parameters and activation values, with the fits) to
# docs/images/quantize-memory-<label>.png. Usage: benchmarks/quantize-memory-sweep.sh LABEL [MODEL:SAMPLES:BATCH...]
# The default sweep: the MLPs 1024 to 8192 wide, ResNet-50, VGG16, VGG19 (32 samples in batches of 8) and UNet at
# 512 x 512 (8 samples in batches of 1, as the zoo's large-model run). The JVM's caps come from QUANTIZE_MEMORY_OPTS
# as in quantize-memory.sh; QUANTIZE_MEMORY_MALLOC=lean also sets glibc's MALLOC_ARENA_MAX=2 and
# MALLOC_MMAP_THRESHOLD_=65536 (arrays above 64 KB mapped and unmapped on free: freed native memory leaves the
# resident set at once instead of staying in the allocator's arenas).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
label="${1:?usage: quantize-memory-sweep.sh LABEL [MODEL:SAMPLES:BATCH...]}"
shift
models=("$@")
if [ ${#models[@]} -eq 0 ]; then
    models=(mlp:1024:32:8 mlp:2048:32:8 mlp:4096:32:8 mlp:8192:32:8 resnet50:32:8 vgg16:32:8 vgg19:32:8 unet:8:1)
fi
if [ "${QUANTIZE_MEMORY_MALLOC:-}" = lean ]; then
    export MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=65536
fi
mvn -B -q -o compile dependency:build-classpath -pl benchmarks -am -Dmdep.outputFile="$root/benchmarks/target/classpath.txt" >&2
export QUANTIZE_MEMORY_NO_BUILD=1
files=()
for spec in "${models[@]}"; do
    IFS=: read -r -a parts <<< "$spec"
    n=${#parts[@]}
    model="${parts[0]}"
    if [ "$model" = mlp ]; then model="mlp:${parts[1]}"; fi
    samples="${parts[$((n - 2))]}"
    batch="${parts[$((n - 1))]}"
    out="benchmarks/results/quantize-memory-${model/:/}-$label.txt"
    {
        echo "# quant4j quantize memory and time, $model, $label (code at commit $(git rev-parse --short HEAD))"
        echo "# command: OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} QUANTIZE_MEMORY_OPTS=\"${QUANTIZE_MEMORY_OPTS:-}\" QUANTIZE_MEMORY_MALLOC=${QUANTIZE_MEMORY_MALLOC:-} benchmarks/quantize-memory.sh $model $samples $batch"
        echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GB RAM; $(java -version 2>&1 | head -1)"
        echo
        benchmarks/quantize-memory.sh "$model" "$samples" "$batch" 2>&1 | grep -v '^\[main\] \(INFO\|WARN\)'
    } > "$out"
    grep '^RESULT' "$out" || { echo "no RESULT in $out" >&2; exit 1; }
    files+=("$out")
done
cp_file="$root/benchmarks/target/classpath.txt"
java -cp "$root/benchmarks/target/classes:$(cat "$cp_file")" org.quant4j.benchmarks.QuantizeMemoryPlot \
    "docs/images/quantize-memory-$label.png" "${files[@]}"
