#!/usr/bin/env bash
# Runs dync and the PyTorch references of ../shared/peers on the same data in
# the same run, alternating (dync, torch, dync, torch, ...), and prints the
# ratio dync/PyTorch per task: on a shared, noisy machine a ratio measured in
# one run holds where absolute figures from different runs do not.
#
#   benchmarks/compare_peers.sh [-b BUILD] [-B BEFORE] [-r ROUNDS] [-q] [-c] [-t REGEX]
#   (-B: also run the dync of build BEFORE in the same alternation, e.g. a
#    build of an older commit, and print its ratio too: before/after in one run)
#   (-q: short runs; -t: only the tasks whose name matches REGEX, e.g. 'lm';
#    -c: rates per second of process CPU time on both sides instead of wall
#    time (dync's *_per_cpu_sec keys; the torch scripts run with
#    time.perf_counter replaced by time.process_time): steadier when other
#    jobs share the machine, though caches and SMT siblings are still shared)
#
# Needs: a built dync (BUILD, default ./build), ../shared/peers and
# ../shared/data (or $DY_SHARED/peers and $DY_SHARED/data), and Debian's python3-torch (apt-get install -y
# python3-torch python3-numpy). Torch runs one thread (--threads 1), as dync.
set -euo pipefail
build=build before= rounds=1 quick=0 only=. cpu=0
while getopts "b:B:r:qct:" o; do
  case $o in
    b) build=$OPTARG ;;
    B) before=$OPTARG ;;
    r) rounds=$OPTARG ;;
    q) quick=1 ;;
    t) only=$OPTARG ;;
    c) cpu=1 ;;
    *) sed -n 2,20p "$0"; exit 2 ;;
  esac
done
src=$(cd "$(dirname "$0")/.." && pwd)
bench="$build/benchmarks/dync-bench"
shared=${DY_SHARED:-$src/../shared}
peers="$shared/peers"
py=/usr/bin/python3
[ -x "$bench" ] || { echo "no $bench: build dync first (meson setup build && meson compile -C build)" >&2; exit 1; }
bbench=${before:+$before/benchmarks/dync-bench}
[ -z "$bbench" ] || [ -x "$bbench" ] || { echo "no $bbench" >&2; exit 1; }
[ -d "$peers" ] || { echo "no $peers: the reference programs are not here" >&2; exit 1; }
if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "PyTorch is not installed: apt-get install -y python3-torch python3-numpy" >&2
  exit 1
fi
export DY_SHARED="$shared" OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

if [ "$quick" = 1 ]; then ts=400 lm=60 ch=30; else ts=2000 lm=300 ch=100; fi
# name | dync command | torch command | rate key
tasks=(
  "tagger-bilstm-sgd|tagger --rnn lstm --bi --epochs 0 --train-sents $ts|torch_tagger.py --rnn lstm --bidirectional --fused --epochs 0 --train-sents $ts|words_per_sec"
  "tagger-bilstm-adam|tagger --rnn lstm --bi --trainer adam --epochs 0 --train-sents $ts|torch_tagger.py --rnn lstm --bidirectional --fused --optimizer adam --epochs 0 --train-sents $ts|words_per_sec"
  "tagger-srnn|tagger --rnn srnn --uni --epochs 0 --train-sents $ts|torch_tagger.py --rnn srnn --fused --epochs 0 --train-sents $ts|words_per_sec"
  "rnnlm|rnnlm --torch-order --steps $lm --valid-sents 200|torch_rnnlm.py --fused --steps $lm --valid-sents 200|words_per_sec"
  "charlm|charlm --steps $ch --sample 0|torch_charlm.py --fused --steps $ch --val-windows 50 --sample-len 0|chars_per_sec"
)
# torch_x.py ARGS... with time.perf_counter = time.process_time (-c)
torch_cpu_time() {
  "$py" -c 'import runpy, sys, time
time.perf_counter = time.process_time
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")' "$@"
}
key_of() { # RESULT line, key -> value
  tr ' ' '\n' <<< "$1" | sed -n "s/^$2=//p" | head -n 1
}
printf '# machine: %s, %s cores; dync %s\n' "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
  "$(nproc --all)" "$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo '?')"
printf '%-20s %12s %12s %8s\n' task dync torch ratio
# a sum over the rounds as their mean (the RESULT values, as the table)
mean() { awk -v s="$1" -v r="$rounds" 'BEGIN{printf "%.1f", s / r}'; }
for row in "${tasks[@]}"; do
  IFS='|' read -r name dcmd tcmd key <<< "$row"
  [[ $name =~ $only ]] || continue
  dkey=$key
  [ "$cpu" = 1 ] && dkey=${key/_per_sec/_per_cpu_sec}
  dsum=0 tsum=0 bsum=0
  for ((r = 0; r < rounds; r++)); do
    if [ -n "$bbench" ]; then
      # shellcheck disable=SC2086
      bd=$("$bbench" $dcmd 2>/dev/null | grep '^RESULT' | tail -n 1)
      bv=$(key_of "$bd" "$dkey")
      bsum=$(awk -v a="$bsum" -v b="${bv:-0}" 'BEGIN{print a+b}')
    fi
    # shellcheck disable=SC2086
    d=$("$bench" $dcmd 2>/dev/null | grep '^RESULT' | tail -n 1)
    if [ "$cpu" = 1 ]; then
      # shellcheck disable=SC2086
      t=$(cd "$peers" && torch_cpu_time $tcmd --threads 1 2>/dev/null | grep '^RESULT' | tail -n 1)
    else
      # shellcheck disable=SC2086
      t=$(cd "$peers" && "$py" $tcmd --threads 1 2>/dev/null | grep '^RESULT' | tail -n 1)
    fi
    dv=$(key_of "$d" "$dkey") tv=$(key_of "$t" "$key")
    dsum=$(awk -v a="$dsum" -v b="${dv:-0}" 'BEGIN{print a+b}')
    tsum=$(awk -v a="$tsum" -v b="${tv:-0}" 'BEGIN{print a+b}')
  done
  awk -v n="$name" -v d="$dsum" -v t="$tsum" -v r="$rounds" \
    'BEGIN{printf "%-20s %12.0f %12.0f %8s\n", n, d/r, t/r, (t > 0 ? sprintf("%.2f", d/t) : "n/a")}'
  [ -z "$bbench" ] || awk -v n="$name (before)" -v d="$bsum" -v t="$tsum" -v r="$rounds" \
    'BEGIN{printf "%-20s %12.0f %12.0f %8s\n", n, d/r, t/r, (t > 0 ? sprintf("%.2f", d/t) : "n/a")}'
  echo "RESULT task=compare name=$name dync=$(mean "$dsum") torch=$(mean "$tsum") rounds=$rounds key=$key cpu_time=$cpu${bbench:+ before=$(mean "$bsum")}"
done
