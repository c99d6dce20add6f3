/* Graph dumps: Graphviz DOT for people (teaching backpropagation through
 * time) and JSON lines for tools and tests.
 *
 * Neither dump changes what the graph computes. The one thing they compute
 * themselves is the gradient that flows back along each edge (n -> argument
 * j): with a zeroed buffer standing in for the argument's gradient, the op's
 * own backward(g, n, j) is called once and the buffer's L2 norm taken; the
 * argument's gradient pointer is restored at once. Buffers come from the
 * graph's scratch arena, which is rewound afterwards (it is empty between
 * forward/backward calls, so nothing of the graph's state lives there).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dy_internal.h"

#define DOT_SMALL 8   /* DOT prints every element of tensors up to this size */
#define JSON_SMALL 16 /* JSON prints every element of tensors up to this size */

/* ============================================================= node state */

/* Node i holds a forward value. */
static int has_val(const dy_graph *g, uint32_t i) { return i < g->nfwd && g->nodes[i].val; }

/* Node i holds a gradient from the last backward. Nodes above the last root
 * may keep pointers from an earlier backward; they are not current. */
static int has_grad(const dy_graph *g, uint32_t i) {
  const dy_node *n = &g->nodes[i];
  return g->last_root != DY_INVALID_ID && i <= g->last_root && n->grad &&
         (n->flags & DY_NODE_LIVE);
}

/* Edge (node i -> argument j) carries a gradient in the last backward. */
static int edge_has_grad(const dy_graph *g, uint32_t i, uint32_t j) {
  const dy_node *n = &g->nodes[i];
  if (!n->op->backward || !(n->flags & DY_NODE_NEEDS_GRAD) || !has_grad(g, i)) return 0;
  uint32_t a = n->args[j];
  return (g->nodes[a].flags & DY_NODE_NEEDS_GRAD) && has_grad(g, a) && has_val(g, i);
}

static const char *role_name(dy_role r) {
  switch (r) {
    case DY_ROLE_VARIABLE: return "variable";
    case DY_ROLE_INPUT: return "input";
    case DY_ROLE_LOSS: return "loss";
    case DY_ROLE_OP: break;
  }
  return "op";
}

/* L2 norm and max |x| of n values (NaN if any is NaN). */
typedef struct { double norm, max; } summary;
static summary summarize(const dy_real *x, size_t n) {
  summary s = {sqrt(dy_sumsq(x, n)), 0};
  for (size_t i = 0; i < n; i++) {
    double a = fabs((double)x[i]);
    if (a > s.max || isnan(a)) s.max = a;
    if (isnan(a)) break;
  }
  return s;
}

/* L2 norm of the gradient that flows from node i back to its argument j
 * (that edge's contribution to the argument's gradient), computed now with a
 * temporary buffer. Returns 0 and sets *norm, or -1 (out of memory). The
 * caller checks edge_has_grad first. */
static int edge_grad_norm(dy_graph *g, uint32_t i, uint32_t j, double *norm) {
  dy_node *n = &g->nodes[i];
  dy_node *a = &g->nodes[n->args[j]];
  size_t s = dy_dim_size(a->dim);
  dy_real *buf = dy_arena_alloc(g, &g->scratch, s * sizeof(dy_real));
  if (!buf) return -1;
  memset(buf, 0, s * sizeof(dy_real));
  dy_real *saved = a->grad;
  a->grad = buf;
  n->op->backward(g, n, j);
  a->grad = saved;
  *norm = sqrt(dy_sumsq(buf, s));
  dy_arena_rewind(g, &g->scratch);
  return 0;
}

/* ================================================================== DOT */

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if invalid. */
static int utf8_len(const unsigned char *s) {
  int len = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
          : s[0] >= 0xf0 && s[0] < 0xf5 ? 4 : 0;
  for (int k = 1; k < len; k++)
    if ((s[k] & 0xc0) != 0x80) return 0;
  return len;
}

/* Writes s as text of an HTML-like DOT label: & < > " as entities, control
 * characters and invalid UTF-8 bytes as visible \n, \t, \xHH. */
static void dot_text(FILE *f, const char *str) {
  const unsigned char *s = (const unsigned char *)str;
  while (*s) {
    int len = utf8_len(s);
    unsigned char c = *s;
    if (c == '&') fputs("&amp;", f);
    else if (c == '<') fputs("&lt;", f);
    else if (c == '>') fputs("&gt;", f);
    else if (c == '"') fputs("&quot;", f);
    else if (c == '\n') fputs("\\n", f);
    else if (c == '\t') fputs("\\t", f);
    else if (c < 0x20 || c == 0x7f || len == 0) fprintf(f, "\\x%02X", c);
    else {
      fwrite(s, 1, (size_t)len, f);
      s += len;
      continue;
    }
    s++;
  }
}

static const char *dot_fill(dy_role r) {
  switch (r) {
    case DY_ROLE_VARIABLE: return "#9ecae1"; /* blue: parameters */
    case DY_ROLE_INPUT: return "#e0e0e0";    /* grey: inputs, constants */
    case DY_ROLE_LOSS: return "#fb6a4a";     /* red: the loss */
    case DY_ROLE_OP: break;
  }
  return "#fff3c4"; /* pale yellow: ops */
}

static const char *dot_style(dy_role r) {
  switch (r) {
    case DY_ROLE_VARIABLE: return "shape=box, style=\"filled,bold\"";
    case DY_ROLE_INPUT: return "shape=box, style=\"filled,dashed\"";
    case DY_ROLE_LOSS: return "shape=box, style=\"rounded,filled,bold\", penwidth=3";
    case DY_ROLE_OP: break;
  }
  return "shape=box, style=\"rounded,filled\"";
}

/* One table cell: elements [r*cols, (r+1)*cols) of x, %.3g, space separated. */
static void dot_row_cell(FILE *f, const dy_real *x, size_t r, size_t cols) {
  fputs("<TD ALIGN=\"LEFT\">", f);
  for (size_t c = 0; c < cols; c++) fprintf(f, c ? " %.3g" : "%.3g", (double)x[r * cols + c]);
  fputs("</TD>", f);
}

static void dot_summary_cell(FILE *f, const dy_real *x, size_t n) {
  summary s = summarize(x, n);
  fprintf(f, "<TD ALIGN=\"LEFT\">norm %.3g<BR ALIGN=\"LEFT\"/>max|x| %.3g</TD>", s.norm, s.max);
}

/* Rows of `value | grad` (either may be NULL): the full tensor, one tensor row
 * (d[1] elements) per table row, when small; else norm and max |x|. */
static void dot_tensor_rows(FILE *f, const dy_node *n, const dy_real *val, const dy_real *grad) {
  size_t size = dy_dim_size(n->dim);
  const char *sep = val && grad ? "<TD>|</TD>" : "";
  fprintf(f, "<TR>%s%s%s</TR>", val ? "<TD ALIGN=\"LEFT\"><I>value</I></TD>" : "", sep,
          grad ? "<TD ALIGN=\"LEFT\"><I>grad</I></TD>" : "");
  if (size > DOT_SMALL) {
    fputs("<TR>", f);
    if (val) dot_summary_cell(f, val, size);
    fputs(sep, f);
    if (grad) dot_summary_cell(f, grad, size);
    fputs("</TR>", f);
    return;
  }
  size_t cols = n->dim.d[1], rows = size / cols;
  for (size_t r = 0; r < rows; r++) {
    fputs("<TR>", f);
    if (val) dot_row_cell(f, val, r, cols);
    fputs(sep, f);
    if (grad) dot_row_cell(f, grad, r, cols);
    fputs("</TR>", f);
  }
}

/* The HTML-like label of node i: "#id op name", dim, then value | grad. */
static void dot_label(FILE *f, const dy_graph *g, uint32_t i, unsigned flags) {
  const dy_node *n = &g->nodes[i];
  const dy_real *val = (flags & DY_DUMP_VALUES) && has_val(g, i) ? n->val : NULL;
  const dy_real *grad = (flags & DY_DUMP_GRADS) && has_grad(g, i) ? n->grad : NULL;
  int span = val && grad ? 3 : 1; /* value | grad */
  char db[64];
  fprintf(f, "<<TABLE BORDER=\"0\" CELLBORDER=\"0\" CELLSPACING=\"0\" CELLPADDING=\"2\">"
             "<TR><TD COLSPAN=\"%d\"><B>#%u ", span, (unsigned)i);
  dot_text(f, n->op->name);
  fputs("</B>", f);
  if (n->name) {
    fputs(" <I>", f);
    dot_text(f, n->name);
    fputs("</I>", f);
  }
  fprintf(f, "</TD></TR><TR><TD COLSPAN=\"%d\">%s</TD></TR>", span,
          dy_dim_str(n->dim, db, sizeof db));
  if (val || grad) dot_tensor_rows(f, n, val, grad);
  else if ((flags & DY_DUMP_VALUES) && !has_val(g, i))
    fputs("<TR><TD><I>(not computed)</I></TD></TR>", f);
  fputs("</TABLE>>", f);
}

static void dot_node(FILE *f, const dy_graph *g, uint32_t i, unsigned flags, const char *indent) {
  dy_role r = dy_node_role(g, &g->nodes[i]);
  fprintf(f, "%sn%u [%s, fillcolor=\"%s\", label=", indent, (unsigned)i, dot_style(r), dot_fill(r));
  dot_label(f, g, i, flags);
  fputs("];\n", f);
}

/* Node ids ordered by (tag, id), so each tag's nodes are contiguous. */
typedef struct { int32_t tag; uint32_t id; } tagged;
static int tagged_cmp(const void *pa, const void *pb) {
  const tagged *a = pa, *b = pb;
  if (a->tag != b->tag) return a->tag < b->tag ? -1 : 1;
  return a->id < b->id ? -1 : a->id > b->id;
}

/* Untagged nodes at top level, then one cluster per tag. */
static dy_status dot_nodes(FILE *f, dy_graph *g, unsigned flags) {
  uint32_t m = 0;
  for (uint32_t i = 0; i < g->n; i++) {
    if (g->nodes[i].tag == DY_NO_TAG) dot_node(f, g, i, flags, "  ");
    else m++;
  }
  if (m == 0) return DY_OK;
  tagged *t = dy_arena_alloc(g, &g->scratch, (size_t)m * sizeof *t);
  if (!t) return DY_ENOMEM;
  for (uint32_t i = 0, k = 0; i < g->n; i++)
    if (g->nodes[i].tag != DY_NO_TAG) t[k++] = (tagged){g->nodes[i].tag, i};
  qsort(t, m, sizeof *t, tagged_cmp);
  for (uint32_t k = 0; k < m; k++) {
    int32_t tag = t[k].tag;
    if (k == 0 || t[k - 1].tag != tag) {
      if (tag >= 0) fprintf(f, "  subgraph cluster_t%d {\n", (int)tag);
      else fprintf(f, "  subgraph \"cluster_t%d\" {\n", (int)tag);
      fprintf(f, "    label=\"t = %d\"; style=\"rounded,dashed\"; color=\"#808080\";\n", (int)tag);
    }
    dot_node(f, g, t[k].id, flags, "    ");
    if (k + 1 == m || t[k + 1].tag != tag) fputs("  }\n", f);
  }
  dy_arena_rewind(g, &g->scratch);
  return DY_OK;
}

/* Edges argument -> node, labelled with the edge's gradient norm. */
static dy_status dot_edges(FILE *f, dy_graph *g, unsigned flags) {
  for (uint32_t i = 0; i < g->n; i++) {
    const dy_node *n = &g->nodes[i];
    for (uint32_t j = 0; j < n->nargs; j++) {
      fprintf(f, "  n%u -> n%u", (unsigned)n->args[j], (unsigned)i);
      double norm;
      if ((flags & DY_DUMP_GRADS) && edge_has_grad(g, i, j)) {
        if (edge_grad_norm(g, i, j, &norm) != 0) return DY_ENOMEM;
        fprintf(f, " [label=\"%.3g\"]", norm);
      }
      fputs(";\n", f);
    }
  }
  return DY_OK;
}

/* A caption explaining colours and edge labels, and the graph's error if any. */
static void dot_legend(FILE *f, const dy_graph *g, unsigned flags) {
  fputs("  labelloc=b; label=<blue: parameter &nbsp; grey: input/constant &nbsp; "
        "yellow: op &nbsp; red: loss", f);
  if (flags & DY_DUMP_GRADS)
    fputs("<BR/>edge label: L2 norm of the gradient flowing back along the edge", f);
  if (g->status != DY_OK) {
    fputs("<BR/>graph error: ", f);
    dot_text(f, g->err);
  }
  fputs(">;\n", f);
}

dy_status dy_graph_dump_dot(dy_graph *g, FILE *f, unsigned flags) {
  if (!g || !f) return DY_EARG;
  fputs("digraph dync {\n  rankdir=LR;\n"
        "  node [fontname=\"Helvetica\", fontsize=10];\n"
        "  edge [fontname=\"Helvetica\", fontsize=9];\n", f);
  dy_status st = dot_nodes(f, g, flags);
  if (st == DY_OK) st = dot_edges(f, g, flags);
  dot_legend(f, g, flags);
  fputs("}\n", f);
  if (st == DY_OK && ferror(f)) st = DY_EIO;
  return st;
}

/* ================================================================= JSON */

/* Writes s as a JSON string: quotes, backslashes and control characters
 * escaped; an invalid UTF-8 byte becomes \u00XX (read as Latin-1). */
static void json_str(FILE *f, const char *str) {
  const unsigned char *s = (const unsigned char *)str;
  fputc('"', f);
  while (*s) {
    int len = utf8_len(s);
    unsigned char c = *s;
    if (c == '"') fputs("\\\"", f);
    else if (c == '\\') fputs("\\\\", f);
    else if (c == '\n') fputs("\\n", f);
    else if (c == '\r') fputs("\\r", f);
    else if (c == '\t') fputs("\\t", f);
    else if (c < 0x20 || len == 0) fprintf(f, "\\u%04x", c);
    else {
      fwrite(s, 1, (size_t)len, f);
      s += len;
      continue;
    }
    s++;
  }
  fputc('"', f);
}

/* A number with %.9g, or null (setting *nonfinite) for NaN/Inf. */
static void json_num(FILE *f, double x, int *nonfinite) {
  if (isfinite(x)) fprintf(f, "%.9g", x);
  else {
    fputs("null", f);
    *nonfinite = 1;
  }
}

static void json_array(FILE *f, const dy_real *x, size_t n, int *nonfinite) {
  fputc('[', f);
  for (size_t i = 0; i < n; i++) {
    if (i) fputc(',', f);
    json_num(f, (double)x[i], nonfinite);
  }
  fputc(']', f);
}

/* "key":norm or "key":null. */
static void json_norm(FILE *f, const char *key, const dy_real *x, size_t n, int *nonfinite) {
  fprintf(f, ",\"%s\":", key);
  if (x) json_num(f, sqrt(dy_sumsq(x, n)), nonfinite);
  else fputs("null", f);
}

static void json_node(FILE *f, const dy_graph *g, uint32_t i, unsigned flags) {
  const dy_node *n = &g->nodes[i];
  const dy_real *val = (flags & DY_DUMP_VALUES) && has_val(g, i) ? n->val : NULL;
  const dy_real *grad = (flags & DY_DUMP_GRADS) && has_grad(g, i) ? n->grad : NULL;
  size_t size = dy_dim_size(n->dim);
  int nonfinite = 0;
  fprintf(f, "{\"id\":%u,\"op\":", (unsigned)i);
  json_str(f, n->op->name);
  fputs(",\"name\":", f);
  if (n->name) json_str(f, n->name);
  else fputs("null", f);
  if (n->tag != DY_NO_TAG) fprintf(f, ",\"tag\":%d", (int)n->tag);
  else fputs(",\"tag\":null", f);
  fputs(",\"dim\":[", f);
  for (uint32_t k = 0; k < n->dim.nd; k++) fprintf(f, k ? ",%u" : "%u", (unsigned)n->dim.d[k]);
  fprintf(f, "],\"batch\":%u,\"args\":[", (unsigned)n->dim.bd);
  for (uint32_t k = 0; k < n->nargs; k++) fprintf(f, k ? ",%u" : "%u", (unsigned)n->args[k]);
  fprintf(f, "],\"role\":\"%s\"", role_name(dy_node_role(g, n)));
  json_norm(f, "value_norm", val, size, &nonfinite);
  json_norm(f, "grad_norm", grad, size, &nonfinite);
  if (val && size <= JSON_SMALL) {
    fputs(",\"value\":", f);
    json_array(f, val, size, &nonfinite);
  }
  if (grad && size <= JSON_SMALL) {
    fputs(",\"grad\":", f);
    json_array(f, grad, size, &nonfinite);
  }
  if (nonfinite) fputs(",\"nonfinite\":true", f);
  fputs("}\n", f);
}

/* One record per edge (argument -> node) with the gradient norm flowing back
 * along it (null where none flows). Written with DY_DUMP_GRADS after a
 * backward. */
static dy_status json_edges(FILE *f, dy_graph *g) {
  for (uint32_t i = 0; i < g->n; i++) {
    for (uint32_t j = 0; j < g->nodes[i].nargs; j++) {
      int nonfinite = 0;
      fprintf(f, "{\"edge\":[%u,%u],\"arg\":%u,\"grad_norm\":", (unsigned)g->nodes[i].args[j],
              (unsigned)i, (unsigned)j);
      double norm;
      if (!edge_has_grad(g, i, j)) fputs("null", f);
      else if (edge_grad_norm(g, i, j, &norm) != 0) return DY_ENOMEM;
      else json_num(f, norm, &nonfinite);
      fputs(nonfinite ? ",\"nonfinite\":true}\n" : "}\n", f);
    }
  }
  return DY_OK;
}

dy_status dy_graph_dump_json(dy_graph *g, FILE *f, unsigned flags) {
  if (!g || !f) return DY_EARG;
  for (uint32_t i = 0; i < g->n; i++) json_node(f, g, i, flags);
  dy_status st = DY_OK;
  if ((flags & DY_DUMP_GRADS) && g->last_root != DY_INVALID_ID) st = json_edges(f, g);
  if (st == DY_OK && ferror(f)) st = DY_EIO;
  return st;
}
