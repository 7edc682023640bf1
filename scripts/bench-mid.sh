#!/usr/bin/env bash
# Reproduces the project's reference measurements on the built-in mid-size FLUX (8 double + 16
# single blocks, hidden 768) at 512² on a CPU: wall-clock vs FLOPs speedup, memory and fidelity of
# Taylor and HiCache at N = 3, 5, 7 over 50 steps, in float32 and bfloat16 (about 25 minutes on
# 2 cores), then the JMH micro-benchmarks. Build first: mvn -B -ntp -Pbench -DskipTests package
set -euo pipefail
cd "$(dirname "$0")/.."
JAR=hicache-cli/target/hicache-cli.jar
OUT=${1:-bench-mid}
for dtype in float32 bfloat16; do
  java -jar "$JAR" bench --model-path builtin:flux-mid --device cpu --dtype "$dtype" \
       --modes Taylor,HiCache --intervals 3,5,7 --steps 50 --width 512 --height 512 \
       --prompt "a lighthouse on a basalt cliff at dusk" --no-site-errors --output-dir "$OUT/$dtype"
done
# per-module forecast error (needs full compute on every step, so a shorter run)
java -jar "$JAR" bench --model-path builtin:flux-mid --device cpu --dtype bfloat16 --modes FORA,Taylor,HiCache \
     --intervals 5 --steps 20 --width 256 --height 256 --prompt "a lighthouse on a basalt cliff at dusk" \
     --site-errors --output-dir "$OUT/errors"
if [ -f hicache-benchmarks/target/benchmarks.jar ]; then
  java -jar hicache-benchmarks/target/benchmarks.jar -wi 3 -i 5 -rf json -rff "$OUT/jmh.json"
fi
