#!/usr/bin/env bash
# oneDNN's own execution time of each call of the two convolutions of ConvLayerBenchmark (ONEDNN_VERBOSE), with
# oneDNN limited to AVX2 (as on a CPU without VNNI): the kernels' times without the JVM, JMH or JNI around them.
# Prints the median and mean per implementation and batch (the first fifth of the calls, the warm-up, left out)
# and JMH's own scores of the same run. Usage: benchmarks/conv-kernel-times.sh [ISA]   (default AVX2)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="$here/target/benchmarks.jar"
[ -f "$jar" ] || { echo "build first: mvn -DskipTests package -pl benchmarks -am" >&2; exit 1; }
out="$(mktemp -d)"
ONEDNN_MAX_CPU_ISA="${1:-AVX2}" ONEDNN_VERBOSE=1 java -jar "$jar" ConvLayerBenchmark -f 1 -wi 2 -i 3 -w 2 -r 2 \
    > "$out/run.log" 2>&1
grep -E "^onednn_verbose,exec,cpu,convolution" "$out/run.log" | awk -F, '{print $5, $(NF-1), $NF}' > "$out/exec.txt"
python3 - "$out/exec.txt" <<'PY'
import collections, statistics, sys
times = collections.defaultdict(list)
for line in open(sys.argv[1]):
    impl, problem, ms = line.split()
    times[(impl, problem.split('_')[0])].append(float(ms))
for (impl, mb), t in sorted(times.items()):
    kept = t[len(t) // 5:]
    print(f"{impl:20s} {mb:4s} {len(t):6d} calls  median {1000 * statistics.median(kept):8.1f} us"
          f"  mean {1000 * statistics.mean(kept):8.1f} us")
PY
grep -A6 "^Benchmark" "$out/run.log"
rm -rf "$out"
