#!/usr/bin/env bash
# quant4j int8 against ONNX Runtime int8 and fp32 and SameDiff fp32 (OrtComparisonBenchmark: ResNet-50, the demo
# CNN, the ResNet-style and MobileNet-style reference networks, batch 1 and 8), and the dense kernel's time over
# freshly built kernels (DenseKernelBenchmark), each run three times: on the machine's own ISA, with oneDNN limited
# to AVX512_CORE_VNNI and to AVX2 (ONEDNN_MAX_CPU_ISA, read by oneDNN 2.5; DNNL_MAX_CPU_ISA set too, the older
# name). The limit applies to oneDNN only (quant4j's kernels, and ND4J's own oneDNN calls in SameDiff); ONNX
# Runtime's kernels (MLAS) pick their own ISA. Every runtime gets THREADS threads (default 2): OMP_NUM_THREADS for
# oneDNN and ND4J, intra-op threads for ONNX Runtime.
# Writes benchmarks/results/ort-comparison-<isa>.json, dense-kernel-<isa>.json and <name>.log (with the effective
# ISA oneDNN reports), and prints a table per ISA. Run it from the repository root on a quiet machine.
# Usage: benchmarks/ort-comparison.sh [ISA...]   (default: native AVX512_CORE_VNNI AVX2)
#        SMOKE=1 benchmarks/ort-comparison.sh native   (1 fork, 1 short iteration, batch 1 only: shows it works)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="$here/target/benchmarks.jar"
results="$here/results"
[ -f "$jar" ] || { echo "build first: mvn -B -DskipTests package -pl benchmarks -am" >&2; exit 1; }
threads="${THREADS:-2}"
isas=("$@")
[ ${#isas[@]} -gt 0 ] || isas=(native AVX512_CORE_VNNI AVX2)
jmh=(-jvmArgsAppend "-Dq4j.threads=$threads -Dq4j.models=$(pwd)/models")
dense=()
if [ "${SMOKE:-0}" = 1 ]; then
    jmh+=(-f 1 -wi 0 -i 1 -r 1s -p batch=1)
    dense=(-f 1 -wi 0 -i 3 -r 100ms)
    results="$(mktemp -d)"
    echo "smoke run: results in $results"
fi
mkdir -p "$results"
for isa in "${isas[@]}"; do
    label="$(echo "$isa" | tr 'A-Z_' 'a-z-')"
    env=(env "OMP_NUM_THREADS=$threads")
    if [ "$isa" != native ]; then
        env+=("ONEDNN_MAX_CPU_ISA=$isa" "DNNL_MAX_CPU_ISA=$isa")
    fi
    json="$results/ort-comparison-$label.json"
    log="$results/ort-comparison-$label.log"
    echo "== $isa: OrtComparisonBenchmark -> $json"
    "${env[@]}" java -jar "$jar" OrtComparisonBenchmark "${jmh[@]}" -rf json -rff "$json" > "$log" 2>&1 \
        || { tail -40 "$log" >&2; exit 1; }
    grep -m1 -o "int8 kernels on [a-z0-9_]*" "$log" || true
    python3 - "$json" <<'PY'
import json, sys
rows = {}
for r in json.load(open(sys.argv[1])):
    key = (r["params"]["model"], int(r["params"]["batch"]))
    rows.setdefault(key, {})[r["benchmark"].rsplit(".", 1)[1]] = r["primaryMetric"]["score"]
print(f"{'model':16s}{'batch':>6s}{'quant4j int8':>14s}{'ORT int8':>10s}{'ORT fp32':>10s}{'SameDiff fp32':>15s}"
      f"{'ORT int8 / quant4j':>20s}  (ms per batch)")
for (model, batch), s in sorted(rows.items()):
    q = s.get("quant4jInt8")
    o = s.get("ortInt8")
    cell = lambda v: f"{v:.3f}" if v is not None else "-"
    ratio = f"{o / q:.2f}x" if q and o else "-"
    print(f"{model:16s}{batch:6d}{cell(q):>14s}{cell(o):>10s}{cell(s.get('ortFp32')):>10s}"
          f"{cell(s.get('sameDiffFp32')):>15s}{ratio:>20s}")
PY
    json="$results/dense-kernel-$label.json"
    echo "== $isa: DenseKernelBenchmark -> $json"
    "${env[@]}" java -jar "$jar" DenseKernelBenchmark "${dense[@]}" -rf json -rff "$json" \
        > "$results/dense-kernel-$label.log" 2>&1 || { tail -40 "$results/dense-kernel-$label.log" >&2; exit 1; }
    python3 - "$json" <<'PY'
import json, statistics, sys
for r in json.load(open(sys.argv[1])):
    t = sorted(x for fork in r["primaryMetric"]["rawData"] for x in fork)
    print(f"dense 2048->1000 batch {r['params']['batch']}, {len(t)} fresh kernels: min {t[0]:.1f} us, median"
          f" {statistics.median(t):.1f} us, max {t[-1]:.1f} us (max / min {t[-1] / t[0]:.2f})")
PY
done
