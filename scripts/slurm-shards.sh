#!/usr/bin/env bash
# A Slurm array job: every task makes one shard of the same run into one output directory.
# Shards are dealt round-robin by image index, so tasks 1..N together make exactly the images of the
# unsharded run (same names and seeds); a rerun of a task resumes it.
#SBATCH --job-name=hicache
#SBATCH --array=1-4
#SBATCH --gres=gpu:1
set -euo pipefail
N=${SLURM_ARRAY_TASK_COUNT:-4}
K=${SLURM_ARRAY_TASK_ID:-1}
java -jar hicache-cli.jar --model-path "${MODEL:-weights/FLUX.1-dev}" --mode HiCache \
     --prompt-file "${PROMPTS:-prompts.txt}" --shard "$K/$N" --output-dir "${OUT:-out}"
