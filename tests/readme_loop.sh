#!/usr/bin/env bash
# Compiles and runs the training loop shown in README.md (the ```c block after
# the line "<!-- readme-loop -->") against this build, so the README cannot rot.
# Usage: readme_loop.sh SRCDIR BUILDDIR CC...
set -euo pipefail
src=$1 build=$2
shift 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/<!-- readme-loop -->/ {on=1; next} on && /^```c/ {grab=1; next} grab && /^```/ {exit} grab {print}' \
  "$src/README.md" > "$tmp/loop.c"
if [ ! -s "$tmp/loop.c" ]; then
  echo "readme_loop: no \`\`\`c block after <!-- readme-loop --> in README.md" >&2
  exit 1
fi
echo "readme_loop: $(wc -l < "$tmp/loop.c") lines of C from README.md"
if ! diff -q "$tmp/loop.c" "$src/models/examples/tagger.c" >/dev/null; then
  echo "readme_loop: README.md's loop differs from models/examples/tagger.c (copy it over):" >&2
  diff "$tmp/loop.c" "$src/models/examples/tagger.c" >&2 || true
  exit 1
fi
# the headers as an installed tree: <dync/dync.h>
mkdir -p "$tmp/inc/dync"
ln -s "$build/dy_config.h" "$src"/core/dy_*.h "$src"/ops/dy_ops.h "$src"/nn/dy_*.h "$src"/models/*.h "$tmp/inc/dync/"
rm -f "$tmp/inc/dync/dy_internal.h"
"$@" -std=c11 -Wall -Wextra -Werror -I"$tmp/inc" -I"$tmp/inc/dync" "$tmp/loop.c" -o "$tmp/loop" "$build/libdync.a" $(pkg-config --libs openblas 2>/dev/null || true) -lm -lpthread
cd "$tmp" && ./loop | tee out.txt
grep -q "dev accuracy" out.txt
