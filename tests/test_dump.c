/* Graph dumps: DOT and JSON lines of an unrolled recurrence, checked
 * structurally (clusters, nodes, edges, values, gradients, edge gradient
 * norms against norms computed here from dy_grad), escaping, graphs not yet
 * evaluated or with an error, and that dumping changes nothing. When
 * graphviz is installed, every DOT dump must also pass `dot -Tsvg`. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

/* ============================================================ helpers */

typedef dy_status (*dump_fn)(dy_graph *, FILE *, unsigned);

/* The dump as a malloc'd string; the status must be want. */
static char *dump_str(dump_fn fn, dy_graph *g, unsigned flags) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  ck_assert_ptr_nonnull(f);
  dy_status st = fn(g, f, flags);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_msg(st == DY_OK, "dump returned %s", dy_status_str(st));
  return buf;
}

/* Runs `dot -Tsvg` on text when graphviz is installed: exit 0, no stderr. */
static void check_dot_program(const char *text) {
  if (system("command -v dot >/dev/null 2>&1") != 0) {
    printf("test_dump: SKIP graphviz `dot` not found: DOT output not rendered "
           "(structural checks still run)\n");
    return;
  }
  char in[] = "/tmp/dync_dump_XXXXXX";
  int fd = mkstemp(in);
  ck_assert_int_ge(fd, 0);
  size_t n = strlen(text);
  ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
  close(fd);
  char err[64], cmd[256];
  snprintf(err, sizeof err, "%s.err", in);
  snprintf(cmd, sizeof cmd, "dot -Tsvg '%s' -o /dev/null 2>'%s'", in, err);
  int rc = system(cmd);
  FILE *ef = fopen(err, "r");
  char msg[512] = "";
  if (ef) {
    size_t k = fread(msg, 1, sizeof msg - 1, ef);
    msg[k] = 0;
    fclose(ef);
  }
  remove(in);
  remove(err);
  ck_assert_msg(rc == 0 && msg[0] == 0, "dot -Tsvg failed (rc %d): %s", rc, msg);
}

/* Lines of s (a copy, split in place); returns the count, *out the array. */
static size_t split_lines(char *s, char ***out) {
  size_t n = 0, cap = 16;
  char **v = malloc(cap * sizeof *v);
  for (char *p = s; *p;) {
    char *e = strchr(p, '\n');
    if (e) *e = 0;
    if (n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
    v[n++] = p;
    if (!e) break;
    p = e + 1;
  }
  *out = v;
  return n;
}

/* ---------------------------------------------------- a small JSON reader */
/* Validates one JSON value and records the top-level keys of an object. */
typedef struct { const char *key; size_t klen; const char *val, *end; } j_member;
typedef struct { const char *p; j_member m[40]; int nm; } j_obj;

static void j_ws(const char **p) { while (**p == ' ' || **p == '\t') (*p)++; }

static int j_string(const char **p) {
  if (**p != '"') return 0;
  for ((*p)++; **p != '"'; (*p)++) {
    if ((unsigned char)**p < 0x20) return 0;
    if (**p == '\\') {
      (*p)++;
      if (**p == 'u') {
        for (int k = 1; k <= 4; k++)
          if (!strchr("0123456789abcdefABCDEF", (*p)[k]) || !(*p)[k]) return 0;
        *p += 4;
      } else if (!**p || !strchr("\"\\/bfnrt", **p)) return 0;
    }
  }
  (*p)++;
  return 1;
}

static int j_value(const char **p, j_obj *top);

static int j_number(const char **p) {
  char *e;
  if (!strchr("-0123456789", **p) || !**p) return 0;
  strtod(*p, &e);
  if (e == *p) return 0;
  *p = e;
  return 1;
}

static int j_seq(const char **p, char close, j_obj *top) {
  (*p)++;
  j_ws(p);
  if (**p == close) { (*p)++; return 1; }
  for (;;) {
    j_ws(p);
    if (close == '}') {
      const char *k = *p;
      if (!j_string(p)) return 0;
      size_t klen = (size_t)(*p - k) - 2;
      j_ws(p);
      if (**p != ':') return 0;
      (*p)++;
      j_ws(p);
      const char *v = *p;
      if (!j_value(p, NULL)) return 0;
      if (top && top->nm < 40)
        top->m[top->nm++] = (j_member){k + 1, klen, v, *p};
    } else if (!j_value(p, NULL)) return 0;
    j_ws(p);
    if (**p == close) { (*p)++; return 1; }
    if (**p != ',') return 0;
    (*p)++;
  }
}

static int j_value(const char **p, j_obj *top) {
  j_ws(p);
  if (**p == '{') return j_seq(p, '}', top);
  if (**p == '[') return j_seq(p, ']', NULL);
  if (**p == '"') return j_string(p);
  if (!strncmp(*p, "true", 4) || !strncmp(*p, "null", 4)) { *p += 4; return 1; }
  if (!strncmp(*p, "false", 5)) { *p += 5; return 1; }
  return j_number(p);
}

/* Parses line as exactly one object; fails the test otherwise. */
static j_obj j_parse(const char *line) {
  j_obj o;
  memset(&o, 0, sizeof o);
  const char *p = line;
  ck_assert_msg(*p == '{' && j_value(&p, &o), "not a JSON object: %s", line);
  j_ws(&p);
  ck_assert_msg(*p == 0, "trailing text after the object: %s", line);
  return o;
}

static const j_member *j_get(const j_obj *o, const char *key) {
  for (int i = 0; i < o->nm; i++)
    if (o->m[i].klen == strlen(key) && !strncmp(o->m[i].key, key, o->m[i].klen)) return &o->m[i];
  return NULL;
}

static int j_is_null(const j_member *m) { return m && !strncmp(m->val, "null", 4); }

static double j_num(const j_obj *o, const char *key) {
  const j_member *m = j_get(o, key);
  ck_assert_msg(m && !j_is_null(m), "key %s missing or null", key);
  return strtod(m->val, NULL);
}

/* Numbers of the array under key into out (max n); returns the count. */
static size_t j_nums(const j_obj *o, const char *key, double *out, size_t n) {
  const j_member *m = j_get(o, key);
  ck_assert_msg(m && m->val[0] == '[', "key %s is not an array", key);
  size_t k = 0;
  const char *p = m->val + 1;
  while (*p != ']' && k < n) {
    if (!strncmp(p, "null", 4)) {
      out[k++] = NAN;
      p += 4;
    } else {
      char *e;
      out[k++] = strtod(p, &e);
      ck_assert_msg(e != p, "bad number in %s", key);
      p = e;
    }
    if (*p == ',') p++;
  }
  return k;
}

/* The string under key equals s (raw JSON text between the quotes). */
static int j_str_is(const j_obj *o, const char *key, const char *s) {
  const j_member *m = j_get(o, key);
  size_t n = strlen(s);
  return m && m->val[0] == '"' && (size_t)(m->end - m->val) == n + 2 && !strncmp(m->val + 1, s, n);
}

static void ck_rel(double a, double b, double rel) {
  ck_assert_msg(fabs(a - b) <= rel * fmax(1e-12, fmax(fabs(a), fabs(b))), "%.9g vs %.9g", a, b);
}

static double norm(const dy_real *x, size_t n) {
  double s = 0;
  for (size_t i = 0; i < n; i++) s += (double)x[i] * x[i];
  return sqrt(s);
}

/* ====================================================== the recurrence */
/* h_t = cmult(b + W h_{t-1}, x_t), t = 0..3, loss = sum_elems(h_3);
 * W, b variables (untagged), h0 an input (untagged), x_t inputs tagged t. */
#define T 4
typedef struct {
  dy_graph *g;
  dy_real W[4], b[2], h0[2], x[T][2], gW[4], gb[2];
  dy_expr eW, eb, eh0, ex[T], ea[T], eh[T], loss;
} rnn;

static void rnn_build(rnn *r) {
  static const dy_real W[4] = {0.5f, -0.25f, 0.75f, 1.0f}, b[2] = {0.125f, -0.5f},
                       h0[2] = {1.0f, -2.0f};
  memset(r, 0, sizeof *r);
  memcpy(r->W, W, sizeof W);
  memcpy(r->b, b, sizeof b);
  memcpy(r->h0, h0, sizeof h0);
  for (int t = 0; t < T; t++) {
    r->x[t][0] = (dy_real)(0.5 + 0.25 * t);
    r->x[t][1] = (dy_real)(-1.0 + 0.5 * t);
  }
  dy_graph *g = r->g = dy_graph_new();
  ck_assert_ptr_nonnull(g);
  r->eW = dy_expr_set_name(dy_variable(g, dy_d2(2, 2), r->W, r->gW), "W");
  r->eb = dy_expr_set_name(dy_variable(g, dy_d1(2), r->b, r->gb), "b");
  r->eh0 = dy_expr_set_name(dy_input(g, dy_d1(2), r->h0), "h0");
  dy_expr h = r->eh0;
  char name[16];
  for (int t = 0; t < T; t++) {
    dy_graph_set_tag(g, t);
    snprintf(name, sizeof name, "x_%d", t);
    r->ex[t] = dy_expr_set_name(dy_input(g, dy_d1(2), r->x[t]), name);
    snprintf(name, sizeof name, "a_%d", t);
    r->ea[t] = dy_expr_set_name(dy_affine(r->eb, r->eW, h), name);
    snprintf(name, sizeof name, "h_%d", t);
    h = r->eh[t] = dy_expr_set_name(dy_cmult(r->ea[t], r->ex[t]), name);
  }
  dy_graph_set_tag(g, DY_NO_TAG);
  r->loss = dy_expr_set_name(dy_sum_elems(h), "loss");
  ck_assert_int_eq(dy_graph_size(g), 3 + 3 * T + 1);
  ck_assert_int_eq(dy_backward(r->loss), DY_OK);
}

/* Expected gradient norm along edge (arg -> node id, argument j), or -1 when
 * no gradient flows there, from dy_grad and dy_forward only. */
static double rnn_edge_norm(const rnn *r, uint32_t from, uint32_t to) {
  if (to == r->loss.id) return sqrt(2.0);
  for (int t = 0; t < T; t++) {
    const dy_real *dh = dy_grad(r->eh[t]), *da = dy_grad(r->ea[t]);
    if (to == r->eh[t].id) {
      if (from != r->ea[t].id) return -1; /* x_t is an input */
      dy_real v[2], *x = (dy_real *)r->x[t];
      for (int i = 0; i < 2; i++) v[i] = dh[i] * x[i];
      return norm(v, 2);
    }
    if (to == r->ea[t].id) {
      const dy_real *hp = t ? dy_forward(r->eh[t - 1]) : r->h0;
      if (from == r->eb.id) return norm(da, 2);
      if (from == r->eW.id) return norm(da, 2) * norm(hp, 2); /* |da hp^T| */
      if (t == 0) return -1;                                   /* h0 is an input */
      dy_real v[2] = {r->W[0] * da[0] + r->W[2] * da[1], r->W[1] * da[0] + r->W[3] * da[1]};
      return norm(v, 2);                                       /* |W^T da| */
    }
  }
  ck_abort_msg("edge %u -> %u is not in the graph", from, to);
  return -1;
}

/* ================================================================= DOT */

START_TEST(dot_structure) {
  rnn r;
  rnn_build(&r);
  dy_graph *g = r.g;
  char *text = dump_str(dy_graph_dump_dot, g, DY_DUMP_ALL);
  ck_assert_msg(!strncmp(text, "digraph", 7), "not a digraph: %.40s", text);
  char *copy = strdup(text), **lines;
  size_t nl = split_lines(copy, &lines);
  uint32_t n = dy_graph_size(g);
  int seen[64] = {0}, clusters[T] = {0}, labels[T] = {0}, edges = 0, labelled = 0;
  int cur = DY_NO_TAG;
  for (size_t i = 0; i < nl; i++) {
    const char *l = lines[i];
    unsigned a, b, t;
    char lab[64];
    if (sscanf(l, "  subgraph cluster_t%u {", &t) == 1) {
      ck_assert_uint_lt(t, T);
      clusters[t]++;
      cur = (int)t;
    } else if (sscanf(l, "    label=\"t = %u\";", &t) == 1) {
      ck_assert_int_eq((int)t, cur);
      labels[t]++;
    } else if (!strcmp(l, "  }")) {
      cur = DY_NO_TAG;
    } else if (sscanf(l, " n%u -> n%u [label=\"%63[^\"]\"];", &a, &b, lab) == 3) {
      edges++, labelled++;
      double want = rnn_edge_norm(&r, a, b);
      ck_assert_msg(want >= 0, "edge %u -> %u carries no gradient but is labelled", a, b);
      ck_rel(strtod(lab, NULL), want, 5e-3);
    } else if (sscanf(l, " n%u -> n%u;", &a, &b) == 2) {
      edges++;
      ck_assert_msg(rnn_edge_norm(&r, a, b) < 0, "edge %u -> %u should carry a gradient", a, b);
    } else if (sscanf(l, " n%u [", &a) == 1) {
      ck_assert_uint_lt(a, n);
      seen[a]++;
      /* each node sits in the cluster of its tag, untagged nodes outside */
      int tag = a < 3 || a == r.loss.id ? DY_NO_TAG : (int)(a - 3) / 3;
      ck_assert_msg(cur == tag, "node %u in cluster %d, its tag is %d", a, cur, tag);
    }
  }
  for (uint32_t i = 0; i < n; i++) ck_assert_msg(seen[i] == 1, "node %u printed %d times", i, seen[i]);
  for (int t = 0; t < T; t++) {
    ck_assert_int_eq(clusters[t], 1);
    ck_assert_int_eq(labels[t], 1);
  }
  ck_assert_int_eq(edges, 5 * T + 1); /* affine 3 + cmult 2 per step, loss 1 */
  ck_assert_int_eq(labelled, 1 + T + T + T + (T - 1));
  free(lines);
  free(copy);
  check_dot_program(text);
  free(text);
  dy_graph_free(g);
}
END_TEST

/* The line declaring node id. */
static const char *node_line(const char *text, uint32_t id) {
  char key[32];
  snprintf(key, sizeof key, "n%u [", (unsigned)id);
  for (const char *p = strstr(text, key); p; p = strstr(p + 1, key))
    if (p[-1] == ' ') return p;
  return NULL;
}

/* The node's label shows `value | grad` rows (rows of d[1] elements). */
static void expect_rows(const char *text, dy_expr e, int with_grad) {
  const char *l = node_line(text, e.id), *end = strchr(l, '\n');
  const dy_real *v = dy_forward(e), *gr = dy_grad(e);
  dy_dim d = dy_expr_dim(e);
  size_t cols = d.d[1], rows = dy_dim_size(d) / cols;
  for (size_t i = 0; i < rows; i++) {
    char want[256], *w = want;
    w += sprintf(w, "<TR><TD ALIGN=\"LEFT\">");
    for (size_t c = 0; c < cols; c++) w += sprintf(w, c ? " %.3g" : "%.3g", (double)v[i * cols + c]);
    w += sprintf(w, "</TD>");
    if (with_grad) {
      w += sprintf(w, "<TD>|</TD><TD ALIGN=\"LEFT\">");
      for (size_t c = 0; c < cols; c++) w += sprintf(w, c ? " %.3g" : "%.3g", (double)gr[i * cols + c]);
      w += sprintf(w, "</TD>");
    }
    sprintf(w, "</TR>");
    const char *hit = strstr(l, want);
    ck_assert_msg(hit && hit < end, "node %u: row %zu '%s' not in its label", e.id, i, want);
  }
}

START_TEST(dot_values_and_roles) {
  rnn r;
  rnn_build(&r);
  char *text = dump_str(dy_graph_dump_dot, r.g, DY_DUMP_ALL);
  expect_rows(text, r.eW, 1);
  expect_rows(text, r.eb, 1);
  expect_rows(text, r.ea[2], 1);
  expect_rows(text, r.eh[T - 1], 1);
  expect_rows(text, r.ex[1], 0); /* input: no gradient */
  expect_rows(text, r.loss, 1);
  ck_assert_ptr_nonnull(strstr(node_line(text, r.eh[1].id), "<B>#8 cmult</B> <I>h_1</I>"));
  ck_assert_ptr_nonnull(strstr(node_line(text, r.eW.id), "{2,2}"));
  /* colours by role: variables, inputs, ops and the loss differ */
  const char *fill[4];
  dy_expr by_role[4] = {r.eW, r.ex[0], r.ea[0], r.loss};
  for (int i = 0; i < 4; i++) {
    fill[i] = strstr(node_line(text, by_role[i].id), "fillcolor=");
    ck_assert_ptr_nonnull(fill[i]);
    for (int k = 0; k < i; k++) ck_assert_msg(strncmp(fill[i], fill[k], 20), "roles %d and %d share a colour", i, k);
  }
  ck_assert_ptr_nonnull(strstr(node_line(text, r.loss.id), "penwidth=3"));
  ck_assert_int_eq(strncmp(strstr(node_line(text, r.eb.id), "fillcolor="), fill[0], 20), 0);
  /* flags: without DY_DUMP_GRADS no grad column and no edge labels; with 0 no numbers */
  char *vo = dump_str(dy_graph_dump_dot, r.g, DY_DUMP_VALUES);
  ck_assert_ptr_null(strstr(vo, "<I>grad</I>"));
  ck_assert_ptr_null(strstr(vo, "[label=\""));
  expect_rows(vo, r.eb, 0);
  char *none = dump_str(dy_graph_dump_dot, r.g, 0);
  ck_assert_ptr_null(strstr(none, "<I>value</I>"));
  ck_assert_ptr_null(strstr(none, "<I>grad</I>"));
  check_dot_program(vo);
  check_dot_program(none);
  free(text), free(vo), free(none);
  dy_graph_free(r.g);
}
END_TEST

START_TEST(dot_large_tensors) {
  dy_graph *g = dy_graph_new();
  dy_real v[12], gv[12] = {0};
  for (int i = 0; i < 12; i++) v[i] = (dy_real)(i - 7) * 0.5f;
  dy_expr m = dy_variable(g, dy_d2(3, 4), v, gv);
  dy_expr s = dy_sum_elems(dy_cmult(m, m));
  ck_assert_int_eq(dy_backward(s), DY_OK);
  char *text = dump_str(dy_graph_dump_dot, g, DY_DUMP_ALL);
  char want[128];
  snprintf(want, sizeof want, "norm %.3g<BR ALIGN=\"LEFT\"/>max|x| %.3g", norm(v, 12), 3.5);
  const char *l = node_line(text, m.id);
  ck_assert_msg(strstr(l, want) && strstr(l, want) < strchr(l, '\n'), "no '%s'", want);
  const dy_real *gm = dy_grad(m); /* 2 m */
  snprintf(want, sizeof want, "norm %.3g<BR ALIGN=\"LEFT\"/>max|x| %.3g", norm(gm, 12), 7.0);
  ck_assert_ptr_nonnull(strstr(l, want));
  ck_assert_ptr_null(strstr(text, "-3.5 -3")); /* no element rows for 12 elements */
  check_dot_program(text);
  free(text);
  dy_graph_free(g);
}
END_TEST

START_TEST(dot_escaping_and_negative_tag) {
  dy_graph *g = dy_graph_new();
  dy_real v[2] = {1, 2};
  dy_graph_set_tag(g, -1);
  const char *name = "q\"b\\s\nl{|}<a>&\t\x01";
  dy_expr x = dy_expr_set_name(dy_input(g, dy_d1(2), v), name);
  dy_graph_set_tag(g, DY_NO_TAG);
  dy_expr_set_name(dy_sum_elems(x), "]; digraph x {");
  char *text = dump_str(dy_graph_dump_dot, g, DY_DUMP_ALL);
  ck_assert_ptr_nonnull(strstr(text, "<I>q&quot;b\\s\\nl{|}&lt;a&gt;&amp;\\t\\x01</I>"));
  ck_assert_ptr_nonnull(strstr(text, "subgraph \"cluster_t-1\" {"));
  ck_assert_ptr_nonnull(strstr(text, "label=\"t = -1\""));
  ck_assert_ptr_null(strstr(text, "<a>"));
  check_dot_program(text);
  char *js = dump_str(dy_graph_dump_json, g, DY_DUMP_ALL);
  char **lines;
  ck_assert_uint_eq(split_lines(js, &lines), 2);
  j_obj o = j_parse(lines[0]);
  ck_assert(j_str_is(&o, "name", "q\\\"b\\\\s\\nl{|}<a>&\\t\\u0001"));
  ck_assert_int_eq((int)j_num(&o, "tag"), -1);
  o = j_parse(lines[1]);
  ck_assert(j_str_is(&o, "name", "]; digraph x {"));
  free(lines);
  free(js);
  free(text);
  dy_graph_free(g);
}
END_TEST

/* ================================================================ JSON */

static const char *node_keys[] = {"id", "op", "name", "tag", "dim", "batch", "args", "role",
                                  "value_norm", "grad_norm"};

static void expect_node_keys(const j_obj *o) {
  for (size_t k = 0; k < sizeof node_keys / sizeof *node_keys; k++)
    ck_assert_msg(j_get(o, node_keys[k]) != NULL, "key %s missing", node_keys[k]);
}

/* a = [1,2], b = [3,-4] variables; y = a + b; c = y * a; loss = sum(c).
 * dL/dc = 1, dL/dy = a = [1,2], dL/da = y + dL/dy = [5,0], dL/db = [1,2]. */
START_TEST(json_hand_graph) {
  dy_graph *g = dy_graph_new();
  dy_real a[2] = {1, 2}, b[2] = {3, -4}, ga[2] = {0}, gb[2] = {0};
  dy_expr ea = dy_expr_set_name(dy_variable(g, dy_d1(2), a, ga), "a");
  dy_expr eb = dy_expr_set_name(dy_variable(g, dy_d1(2), b, gb), "b");
  dy_expr y = dy_expr_set_name(dy_add(ea, eb), "y");
  dy_expr c = dy_cmult(y, ea);
  dy_expr loss = dy_sum_elems(c);
  ck_assert_int_eq(dy_backward(loss), DY_OK);
  char *js = dump_str(dy_graph_dump_json, g, DY_DUMP_ALL);
  char **lines;
  size_t nl = split_lines(js, &lines);
  ck_assert_uint_eq(nl, 5 + 5); /* 5 nodes, then 5 edges */
  j_obj o[10];
  for (size_t i = 0; i < nl; i++) o[i] = j_parse(lines[i]);
  for (int i = 0; i < 5; i++) {
    expect_node_keys(&o[i]);
    ck_assert_int_eq((int)j_num(&o[i], "id"), i);
    ck_assert(j_is_null(j_get(&o[i], "tag")));
    ck_assert_int_eq((int)j_num(&o[i], "batch"), 1);
    ck_assert_ptr_null(j_get(&o[i], "nonfinite"));
  }
  const char *roles[5] = {"variable", "variable", "op", "op", "loss"};
  const char *ops[5] = {"variable", "variable", "add", "cmult", "sum_elems"};
  for (int i = 0; i < 5; i++) {
    ck_assert_msg(j_str_is(&o[i], "role", roles[i]), "node %d role", i);
    ck_assert_msg(j_str_is(&o[i], "op", ops[i]), "node %d op", i);
  }
  ck_assert(j_str_is(&o[2], "name", "y"));
  ck_assert(j_is_null(j_get(&o[3], "name")));
  double x[4];
  ck_assert_uint_eq(j_nums(&o[2], "args", x, 4), 2);
  ck_assert(x[0] == 0 && x[1] == 1);
  ck_assert_uint_eq(j_nums(&o[2], "dim", x, 4), 1);
  ck_assert(x[0] == 2);
  ck_assert_uint_eq(j_nums(&o[2], "value", x, 4), 2);
  ck_assert(x[0] == 4 && x[1] == -2);
  ck_assert_uint_eq(j_nums(&o[2], "grad", x, 4), 2);
  ck_assert(x[0] == 1 && x[1] == 2);
  ck_assert_uint_eq(j_nums(&o[0], "grad", x, 4), 2);
  ck_assert(x[0] == 5 && x[1] == 0);
  ck_rel(j_num(&o[2], "value_norm"), sqrt(20.0), 1e-6);
  ck_rel(j_num(&o[2], "grad_norm"), sqrt(5.0), 1e-6);
  ck_rel(j_num(&o[0], "grad_norm"), 5.0, 1e-6);
  ck_rel(j_num(&o[3], "value_norm"), sqrt(32.0), 1e-6);
  ck_assert_uint_eq(j_nums(&o[4], "grad", x, 4), 1);
  ck_assert(x[0] == 1);
  /* edges: y->c carries a*1, a->c carries y*1, a->y and b->y carry dL/dy */
  const double want[5][3] = {{0, 2, sqrt(5.0)}, {1, 2, sqrt(5.0)}, {2, 3, sqrt(5.0)},
                             {0, 3, sqrt(20.0)}, {3, 4, sqrt(2.0)}};
  for (int i = 0; i < 5; i++) {
    ck_assert_uint_eq(j_nums(&o[5 + i], "edge", x, 4), 2);
    ck_assert(x[0] == want[i][0] && x[1] == want[i][1]);
    ck_rel(j_num(&o[5 + i], "grad_norm"), want[i][2], 1e-6);
  }
  /* without DY_DUMP_GRADS: no edges, null grad norms, no grad arrays */
  char *vo = dump_str(dy_graph_dump_json, g, DY_DUMP_VALUES);
  free(lines);
  ck_assert_uint_eq(split_lines(vo, &lines), 5);
  for (int i = 0; i < 5; i++) {
    j_obj p = j_parse(lines[i]);
    ck_assert(j_is_null(j_get(&p, "grad_norm")) && !j_get(&p, "grad") && j_get(&p, "value"));
  }
  free(lines);
  free(vo);
  free(js);
  dy_graph_free(g);
}
END_TEST

START_TEST(json_rnn_edges_and_sizes) {
  rnn r;
  rnn_build(&r);
  char *js = dump_str(dy_graph_dump_json, r.g, DY_DUMP_ALL);
  char **lines;
  uint32_t n = dy_graph_size(r.g);
  size_t nl = split_lines(js, &lines);
  ck_assert_uint_eq(nl, n + 5 * T + 1);
  for (uint32_t i = 0; i < n; i++) {
    j_obj o = j_parse(lines[i]);
    expect_node_keys(&o);
    int tag = i < 3 || i == r.loss.id ? DY_NO_TAG : (int)(i - 3) / 3;
    if (tag == DY_NO_TAG) ck_assert(j_is_null(j_get(&o, "tag")));
    else ck_assert_int_eq((int)j_num(&o, "tag"), tag);
  }
  for (size_t i = n; i < nl; i++) {
    j_obj o = j_parse(lines[i]);
    double e[2];
    ck_assert_uint_eq(j_nums(&o, "edge", e, 2), 2);
    double want = rnn_edge_norm(&r, (uint32_t)e[0], (uint32_t)e[1]);
    if (want < 0) ck_assert(j_is_null(j_get(&o, "grad_norm")));
    else ck_rel(j_num(&o, "grad_norm"), want, 1e-5);
  }
  free(lines);
  free(js);
  dy_graph_free(r.g);

  /* 16 elements: listed; 20: norms only; batch reported */
  dy_graph *g = dy_graph_new();
  dy_real v[20];
  for (int i = 0; i < 20; i++) v[i] = (dy_real)i;
  dy_input(g, dy_d2(4, 4), v);
  dy_input(g, dy_d2(5, 4), v);
  ck_assert_ptr_nonnull(dy_forward(dy_input(g, dy_batch(dy_d1(3), 2), v)));
  js = dump_str(dy_graph_dump_json, g, DY_DUMP_ALL);
  ck_assert_uint_eq(split_lines(js, &lines), 3);
  j_obj a = j_parse(lines[0]), b = j_parse(lines[1]), c = j_parse(lines[2]);
  double x[20];
  ck_assert_uint_eq(j_nums(&a, "value", x, 20), 16);
  ck_assert(x[15] == 15);
  ck_assert_ptr_null(j_get(&b, "value"));
  ck_rel(j_num(&b, "value_norm"), norm(v, 20), 1e-6);
  ck_assert_int_eq((int)j_num(&c, "batch"), 2);
  ck_assert_uint_eq(j_nums(&c, "dim", x, 20), 1);
  ck_assert_uint_eq(j_nums(&c, "value", x, 20), 6);
  free(lines);
  free(js);
  dy_graph_free(g);
}
END_TEST

START_TEST(json_nonfinite) {
  dy_graph *g = dy_graph_new();
  dy_real v[3] = {NAN, INFINITY, 1};
  dy_expr x = dy_input(g, dy_d1(3), v);
  ck_assert_ptr_nonnull(dy_forward(x));
  char *js = dump_str(dy_graph_dump_json, g, DY_DUMP_ALL);
  j_obj o = j_parse(strtok(js, "\n"));
  double a[3];
  ck_assert_uint_eq(j_nums(&o, "value", a, 3), 3);
  ck_assert(isnan(a[0]) && isnan(a[1]) && a[2] == 1);
  ck_assert(j_is_null(j_get(&o, "value_norm")));
  const j_member *m = j_get(&o, "nonfinite");
  ck_assert(m && !strncmp(m->val, "true", 4));
  free(js);
  char *dot = dump_str(dy_graph_dump_dot, g, DY_DUMP_ALL);
  check_dot_program(dot);
  free(dot);
  dy_graph_free(g);
}
END_TEST

/* ====================================================== graph states */

START_TEST(not_evaluated) {
  dy_graph *g = dy_graph_new();
  dy_real a[2] = {1, 2}, ga[2] = {0};
  dy_expr x = dy_variable(g, dy_d1(2), a, ga);
  dy_expr sq = dy_cmult(x, x);
  dy_sum_elems(sq);
  char *dot = dump_str(dy_graph_dump_dot, g, DY_DUMP_ALL);
  size_t k = 0;
  for (const char *p = strstr(dot, "(not computed)"); p; p = strstr(p + 1, "(not computed)")) k++;
  ck_assert_uint_eq(k, 3);
  ck_assert_ptr_null(strstr(dot, "[label=\""));
  check_dot_program(dot);
  char *js = dump_str(dy_graph_dump_json, g, DY_DUMP_ALL);
  char **lines;
  ck_assert_uint_eq(split_lines(js, &lines), 3); /* no backward: no edge records */
  for (int i = 0; i < 3; i++) {
    j_obj o = j_parse(lines[i]);
    ck_assert(j_is_null(j_get(&o, "value_norm")) && j_is_null(j_get(&o, "grad_norm")));
    ck_assert(!j_get(&o, "value") && j_str_is(&o, "role", i == 0 ? "variable" : "op"));
  }
  free(lines), free(js), free(dot);
  /* evaluated up to the cmult only: the sum is still not computed */
  ck_assert_ptr_nonnull(dy_forward(sq));
  dot = dump_str(dy_graph_dump_dot, g, DY_DUMP_VALUES);
  const char *p = strstr(dot, "(not computed)");
  ck_assert(p && !strstr(p + 1, "(not computed)") && p > node_line(dot, 2));
  ck_assert_ptr_nonnull(strstr(node_line(dot, sq.id), "<TD ALIGN=\"LEFT\">4</TD>"));
  free(dot);
  dy_graph_free(g);
}
END_TEST

START_TEST(sticky_error_and_bad_args) {
  rnn r;
  rnn_build(&r);
  dy_graph *g = r.g;
  uint32_t n = dy_graph_size(g);
  dy_add(r.eb, dy_zeros(g, dy_d1(3))); /* shape error */
  ck_assert_int_ne(dy_graph_status(g), DY_OK);
  ck_assert_uint_eq(dy_graph_size(g), n + 1); /* the zeros node exists */
  char *dot = dump_str(dy_graph_dump_dot, g, DY_DUMP_ALL);
  ck_assert_ptr_nonnull(strstr(dot, "graph error: add"));
  check_dot_program(dot);
  char *js = dump_str(dy_graph_dump_json, g, DY_DUMP_ALL);
  char **lines;
  ck_assert_uint_eq(split_lines(js, &lines), n + 1 + 5 * T + 1);
  for (size_t i = 0; i < n + 1; i++) {
    j_obj o = j_parse(lines[i]);
    expect_node_keys(&o);
  }
  free(lines), free(js), free(dot);
  ck_assert_int_eq(dy_graph_dump_dot(g, NULL, DY_DUMP_ALL), DY_EARG);
  ck_assert_int_eq(dy_graph_dump_json(g, NULL, DY_DUMP_ALL), DY_EARG);
  ck_assert_int_eq(dy_graph_dump_dot(NULL, stdout, DY_DUMP_ALL), DY_EARG);
  ck_assert_int_eq(dy_graph_dump_json(NULL, stdout, DY_DUMP_ALL), DY_EARG);
  dy_graph_free(g);
}
END_TEST

/* A backward from a later root, then from an earlier one: nodes above the
 * second root keep old gradient pointers that must not be dumped. */
START_TEST(second_backward_lower_root) {
  dy_graph *g = dy_graph_new();
  dy_real a[2] = {1, 2}, ga[2] = {0};
  dy_graph_set_check(g, DY_KEEP_VAR_GRADS); /* x's own gradient of each backward */
  dy_expr x = dy_variable(g, dy_d1(2), a, ga);
  dy_expr s0 = dy_sum_elems(x);
  dy_expr s1 = dy_sum_elems(dy_cmult(x, x));
  ck_assert_int_eq(dy_backward(s1), DY_OK);
  ck_assert_int_eq(dy_backward(s0), DY_OK);
  char *js = dump_str(dy_graph_dump_json, g, DY_DUMP_ALL);
  char **lines;
  ck_assert_uint_eq(split_lines(js, &lines), 4 + 4);
  j_obj o[8];
  for (int i = 0; i < 8; i++) o[i] = j_parse(lines[i]);
  ck_rel(j_num(&o[0], "grad_norm"), sqrt(2.0), 1e-6);
  ck_assert(j_str_is(&o[1], "role", "loss"));
  ck_assert(j_is_null(j_get(&o[2], "grad_norm")) && j_is_null(j_get(&o[3], "grad_norm")));
  ck_rel(j_num(&o[4], "grad_norm"), sqrt(2.0), 1e-6);
  for (int i = 5; i < 8; i++) ck_assert(j_is_null(j_get(&o[i], "grad_norm")));
  free(lines), free(js);
  (void)s1;
  dy_graph_free(g);
}
END_TEST

/* Dumping changes nothing: values, gradients, a later backward, later dumps. */
START_TEST(dump_does_not_disturb) {
  rnn r;
  rnn_build(&r);
  dy_graph *g = r.g;
  dy_graph_set_check(g, DY_KEEP_VAR_GRADS); /* the second backward: W, b their own gradients */
  uint32_t n = dy_graph_size(g);
  dy_real before[64][4], gW[4], gb[2];
  size_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    dy_expr e = {g, i, r.loss.gen};
    const dy_real *gr = dy_grad(e), *v = dy_forward(e);
    size_t s = dy_dim_size(dy_expr_dim(e));
    memcpy(before[k++], v, s * sizeof(dy_real));
    if (gr) memcpy(before[k++], gr, s * sizeof(dy_real));
  }
  memcpy(gW, r.gW, sizeof gW);
  memcpy(gb, r.gb, sizeof gb);
  char *d1 = dump_str(dy_graph_dump_dot, g, DY_DUMP_ALL);
  char *j1 = dump_str(dy_graph_dump_json, g, DY_DUMP_ALL);
  char *d2 = dump_str(dy_graph_dump_dot, g, DY_DUMP_ALL);
  char *j2 = dump_str(dy_graph_dump_json, g, DY_DUMP_ALL);
  ck_assert_str_eq(d1, d2);
  ck_assert_str_eq(j1, j2);
  ck_assert_mem_eq(gW, r.gW, sizeof gW); /* variables' buffers untouched */
  ck_assert_mem_eq(gb, r.gb, sizeof gb);
  k = 0;
  for (uint32_t i = 0; i < n; i++) {
    dy_expr e = {g, i, r.loss.gen};
    const dy_real *gr = dy_grad(e), *v = dy_forward(e);
    size_t s = dy_dim_size(dy_expr_dim(e));
    ck_assert_mem_eq(before[k++], v, s * sizeof(dy_real));
    if (gr) ck_assert_mem_eq(before[k++], gr, s * sizeof(dy_real));
  }
  /* a second backward accumulates exactly the first gradients again */
  ck_assert_int_eq(dy_backward(r.loss), DY_OK);
  for (int i = 0; i < 4; i++) ck_assert(r.gW[i] == gW[i] + gW[i]);
  for (int i = 0; i < 2; i++) ck_assert(r.gb[i] == gb[i] + gb[i]);
  char *d3 = dump_str(dy_graph_dump_dot, g, DY_DUMP_ALL);
  char *j3 = dump_str(dy_graph_dump_json, g, DY_DUMP_ALL);
  ck_assert_str_eq(d1, d3);
  ck_assert_str_eq(j1, j3);
  free(d1), free(d2), free(d3), free(j1), free(j2), free(j3);
  dy_graph_free(g);
}
END_TEST

int main(void) {
  Suite *s = suite_create("dump");
  TCase *tc = tcase_create("dump");
  tcase_add_test(tc, dot_structure);
  tcase_add_test(tc, dot_values_and_roles);
  tcase_add_test(tc, dot_large_tensors);
  tcase_add_test(tc, dot_escaping_and_negative_tag);
  tcase_add_test(tc, json_hand_graph);
  tcase_add_test(tc, json_rnn_edges_and_sizes);
  tcase_add_test(tc, json_nonfinite);
  tcase_add_test(tc, not_evaluated);
  tcase_add_test(tc, sticky_error_and_bad_args);
  tcase_add_test(tc, second_backward_lower_root);
  tcase_add_test(tc, dump_does_not_disturb);
  suite_add_tcase(s, tc);
  return t_run(s);
}
