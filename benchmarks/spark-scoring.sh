#!/usr/bin/env bash
# quant4j on Spark: the 70,000 Fashion-MNIST images scored in local[2] (or another master), the int8 model against
# the DL4J fp32 network in the same kind of job (SparkScoringBenchmark, in the spark module's test classes),
# images per second, median of alternating rounds. Run it on a quiet machine.
# Usage: benchmarks/spark-scoring.sh [MODEL [MASTER [BATCH [PARTITIONS [ROUNDS [IMAGES]]]]]]
#   MODEL: a trained DL4J MultiLayerNetwork (default: the demo CNN that `./quant4j demo` trains and caches);
#   MASTER local[2], BATCH 256, PARTITIONS 8, ROUNDS 5, IMAGES 70000 (fewer: a smoke run)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
model="${1:-$HOME/.quant4j/models/fashion-cnn-v1.zip}"
[ -f "$model" ] || { echo "no trained network at $model: run ./quant4j demo first (it trains and caches it)" >&2; exit 1; }
cd "$root"
cp_file="$root/spark/target/test-classpath.txt"
mvn -B -q test-compile dependency:build-classpath -pl spark -am -Dmdep.includeScope=test \
    -Dmdep.outputFile="$cp_file" >&2
# The --add-opens flags Spark needs on Java 17 (spark/pom.xml, property spark.java17.args).
opens=""
for p in java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util java.util.concurrent \
         java.util.concurrent.atomic sun.nio.ch sun.nio.cs sun.security.action sun.util.calendar; do
    opens="$opens --add-opens=java.base/$p=ALL-UNNAMED"
done
shift || true
# shellcheck disable=SC2086
exec java $opens -Xmx3g -Dorg.bytedeco.javacpp.maxbytes=6G ${JAVA_OPTS:-} \
    -cp "$root/spark/target/test-classes:$root/spark/target/classes:$(cat "$cp_file")" \
    org.quant4j.spark.SparkScoringBenchmark "$model" "$@"
