#!/usr/bin/env bash
# Checks the machine code of the member pipeline's count phase (kernels/metropolis_pipeline.cu):
# in the popcount kernel, all 16 column loads of a pattern word must issue before its first
# popcount. When ptxas interleaves them (register pressure elsewhere in the kernel can make it),
# each late load waits out an L2 round trip and every phase of a round slowed by ≈ 15 % on an
# H200 (bench/NOTES.md). In the kernels with the interleaved move (LOCENT_PIPELINE_MOVE), the
# move's plane reads must be grouped too. Needs nvcc and cuobjdump (the CUDA toolkit); run from
# the repository root:
#   bench/sass-check.sh            exit 0: grouped, 1: not grouped, 2: tools missing
set -euo pipefail
nvcc=${NVCC:-$(command -v nvcc || true)}
cuobjdump=${CUOBJDUMP:-$(command -v cuobjdump || echo "${nvcc%/nvcc}/cuobjdump")}
if [[ -z $nvcc || ! -x $cuobjdump ]]; then
  echo "sass-check: needs nvcc and cuobjdump (set NVCC, CUOBJDUMP)" >&2
  exit 2
fi
object=$(mktemp --suffix=.o)
trap 'rm -f "$object"' EXIT
"$nvcc" -DLOCENT_HAVE_CUDA=1 -Iinclude -I. -O3 --generate-code=arch=compute_90,code=sm_90 \
  --expt-relaxed-constexpr -std=c++17 -x cu -c kernels/metropolis_pipeline.cu -o "$object"
# The popcount kernels (first template argument kCountPopc; the second, the option bits: the
# default 0, spread reads 1, interleaved move 2, two blocks a replica 4, columns in step order 8,
# and their sums), their loads through the read-only path and their popcounts in order; the
# first run of loads is the count phase's. In the kernels with the interleaved move, a plane's 4
# reads must also come before its 4 writes somewhere (the move's loop).
status=0
sass=$("$cuobjdump" -sass "$object")
for options in $(seq 0 15); do
  kernel=ILi0ELi${options}E
  code=$(awk -v k="pipeline_kernel$kernel" '/Function : / { on = index($0, k) > 0; next } on' <<<"$sass")
  first=$(grep -oE 'LDG\.E\.CONSTANT|POPC' <<<"$code" | uniq -c |
    awk '$2 == "LDG.E.CONSTANT" { print $1; exit }')
  echo "sass-check: pipeline_kernel$kernel: ${first:-0} column loads before the first popcount (want 16)"
  [[ ${first:-0} -ge 16 ]] || status=1
  if ((options & 2)); then
    grouped=$(grep -oE '\b(LDS|STS)\b' <<<"$code" | uniq -c |
      awk 'prev == 4 && $1 == 4 && $2 == "STS" { n++ } { prev = ($2 == "LDS") ? $1 : 0 } END { print n + 0 }')
    echo "sass-check: pipeline_kernel$kernel: $grouped runs of 4 plane reads, then 4 writes (want > 0)"
    ((grouped > 0)) || status=1
  fi
done
exit $status
