#!/usr/bin/env bash
# Runs the plain benchmark runners: lolcats4j-bench/bench.sh [matmul|forward|attention|decode|rss|profile|all] [--json] [--quick] ...
# Build first: mvn -q -B -o install -DskipTests -pl lolcats4j-core && mvn -q -B -o -pl lolcats4j-bench package
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
java_home="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
exec "$java_home/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
  -Dorg.bytedeco.javacpp.cachedir="${LOLCATS_NATIVE_CACHE:-$here/../target/native-cache/javacpp}" \
  ${BENCH_JAVA_OPTS:-} -cp "$here/target/benchmarks.jar" dev.lolcats4j.bench.BenchMain "$@"
