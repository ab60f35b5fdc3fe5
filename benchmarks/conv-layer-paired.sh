#!/usr/bin/env bash
# The 3x3 conv layer of ConvLayerBenchmark, int8 against oneDNN fp32 in its best layout, timed side by side:
# ConvLayerBenchmark.pairedBlocks alternates blocks of int8 and fp32 calls, each block timed on its own, so that
# both kernels see the same state of the machine. Prints, per batch size, the speed-up of each measured iteration
# (fp32 time / int8 time over the same seconds), their median and smallest, the ratio of each fork's totals (4
# forks, one JVM each), and the ratio of the totals.
# Usage: benchmarks/conv-layer-paired.sh [ISA [JSON]]   (default AVX2, as on a CPU without VNNI; JSON: where the
# raw JMH results go, default a temporary file)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="$here/target/benchmarks.jar"
[ -f "$jar" ] || { echo "build first: mvn -DskipTests package -pl benchmarks -am" >&2; exit 1; }
out="$(mktemp -d)"
json="${2:-$out/paired.json}"
ONEDNN_MAX_CPU_ISA="${1:-AVX2}" java -jar "$jar" 'ConvLayerBenchmark.pairedBlocks' -f 4 -wi 3 -i 10 -w 2 -r 2 \
    -rf json -rff "$json" > "$out/run.log" 2>&1 || { tail -30 "$out/run.log" >&2; exit 1; }
grep -m2 "^int8: " "$out/run.log" || true
python3 - "$json" <<'PY'
import json, statistics, sys
for result in json.load(open(sys.argv[1])):
    m = result["secondaryMetrics"]
    int8 = [x for fork in m["int8Nanos"]["rawData"] for x in fork]
    fp32 = [x for fork in m["fp32Nanos"]["rawData"] for x in fork]
    calls = [x for fork in m["callsEach"]["rawData"] for x in fork]
    ratios = [f / i for f, i in zip(fp32, int8)]
    forks = [sum(f) / sum(i) for f, i in zip(m["fp32Nanos"]["rawData"], m["int8Nanos"]["rawData"])]
    print(f"batch {result['params']['batch']}: {len(ratios)} iterations, {int(sum(calls))} calls of each kernel;"
          f" per call int8 {sum(int8) / sum(calls) / 1000:.0f} us, fp32 {sum(fp32) / sum(calls) / 1000:.0f} us;"
          f" speed-up of the totals {sum(fp32) / sum(int8):.2f}x, per iteration median"
          f" {statistics.median(ratios):.2f}x, smallest {min(ratios):.2f}x, largest {max(ratios):.2f}x")
    print("  per fork (one JVM each): " + " ".join(f"{r:.2f}" for r in forks))
    print("  per iteration: " + " ".join(f"{r:.2f}" for r in ratios))
PY
rm -rf "$out"
