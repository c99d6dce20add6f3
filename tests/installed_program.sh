#!/usr/bin/env bash
# Installs dync into a temporary prefix, then builds and runs a user program
# with `cc prog.c $(pkg-config --cflags --libs dync)`. Usage: installed_program.sh [DIR]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=${1:-$(mktemp -d)}
meson setup "$tmp/build" "$src" --prefix="$tmp/prefix" -Dtests=disabled -Dbenchmarks=false \
  -Dexamples=false >/dev/null
meson install -C "$tmp/build" >/dev/null
pcdir=$(dirname "$(find "$tmp/prefix" -name dync.pc | head -n 1)")
export PKG_CONFIG_PATH="$pcdir"
cat > "$tmp/prog.c" <<'C'
#include <dync/dync.h>
#include <stdio.h>
int main(void) {
  dy_real w[2] = {0.5f, 0.25f}, gw[2] = {0}, x[2] = {2, 4};
  dy_graph *g = dy_graph_new();
  dy_expr W = dy_variable(g, dy_d1(2), w, gw);
  dy_expr d = dy_dot(W, dy_input(g, dy_d1(2), x));
  dy_expr loss = dy_cmult(d, d);
  if (dy_backward(loss) != DY_OK) { fprintf(stderr, "%s\n", dy_graph_error(g)); return 1; }
  printf("loss %.3f grad %.3f %.3f\n", (double)dy_scalar(loss), (double)gw[0], (double)gw[1]);
  dy_graph_free(g);
  return (gw[0] == 8 && gw[1] == 16) ? 0 : 1;
}
C
cc "$tmp/prog.c" -o "$tmp/prog" $(pkg-config --cflags --libs dync) -Wl,-rpath,"$(pkg-config --variable=libdir dync)"
"$tmp/prog"
echo "installed program: OK"
