/* Save/load: round trips (values, names, kinds, RNG position, trainer state
 * with an identical next update), every byte flipped and every truncation,
 * errors naming the parameter and offset, prefixes, atomic replacement when
 * the disk is full, file size of a tagger-sized model. */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dy_nn.h"
#include "harness.h"
#include "nn_internal.h"

static char tmpdir[256];

static void mk_tmpdir(void) {
  const char *base = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/dync_saveload_XXXXXX", base && base[0] ? base : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_tmpdir(void) {
  DIR *d = opendir(tmpdir);
  if (!d) return;
  struct dirent *e;
  char p[512];
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
      snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
      unlink(p);
    }
  closedir(d);
  rmdir(tmpdir);
}

static int count_files(void) {
  DIR *d = opendir(tmpdir);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
  closedir(d);
  return n;
}

static char *path_of(const char *name) {
  static char p[512];
  snprintf(p, sizeof p, "%s/%s", tmpdir, name);
  return p;
}

static uint8_t *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)sz + 1);
  ck_assert_uint_eq(fread(b, 1, (size_t)sz, f), (size_t)sz);
  fclose(f);
  *n = (size_t)sz;
  return b;
}

static void write_all(const char *path, const uint8_t *b, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(b, 1, n, f), n);
  fclose(f);
}

/* A small model: dense and lookup parameters interleaved, scoped names. */
static dy_model *small_model(uint64_t seed) {
  dy_model *m = dy_model_new(seed);
  dy_model_push(m, "enc");
  dy_model_add_param(m, "W", dy_d2(3, 4), dy_init_glorot());
  dy_model_add_lookup(m, "E", 5, dy_d1(4), dy_init_uniform(-1, 1));
  dy_model_pop(m);
  dy_model_add_param(m, "b", dy_d1(3), dy_init_uniform(-1, 1));
  dy_model_add_param(m, "T", dy_d3(2, 1, 2), dy_init_normal(0, 1));
  return m;
}

/* A few training steps through every parameter and two lookup rows per step. */
static void train(dy_model *m, dy_trainer *t, int steps, uint64_t seed) {
  dy_graph *g = dy_graph_new();
  t_rng r = {seed};
  dy_param *W = dy_model_find_param(m, "enc/W"), *b = dy_model_find_param(m, "b"), *T = dy_model_find_param(m, "T");
  dy_lookup *E = dy_model_find_lookup(m, "enc/E");
  for (int s = 0; s < steps; s++) {
    dy_graph_renew(g);
    uint32_t rows[2] = {(uint32_t)(t_next(&r) % 5), (uint32_t)(t_next(&r) % 5)};
    dy_expr h = dy_affine(dy_param_expr(g, b), dy_param_expr(g, W), dy_lookup_batch(g, E, rows, 2));
    dy_expr l = dy_add(dy_sum_batches(dy_sum_elems(dy_cmult(h, h))),
                       dy_sum_elems(dy_cmult(dy_param_expr(g, T), dy_param_expr(g, T))));
    ck_assert_int_eq(dy_backward(l), DY_OK);
    ck_assert_int_eq(dy_trainer_update(t), DY_OK);
  }
  dy_graph_free(g);
}

static dy_trainer *make(dy_model *m, int k) {
  switch (k) {
    case 0: return dy_sgd_new(m, 0.1);
    case 1: return dy_momentum_sgd_new(m, 0.05, 0.9);
    case 2: return dy_adagrad_new(m, 0.1, 1e-8);
    case 3: return dy_rmsprop_new(m, 0.01, 0.9, 1e-8);
    default: {
      dy_trainer *t = dy_adam_new(m, 0.01, 0.9, 0.999, 1e-8);
      dy_trainer_set_amsgrad(t, k == 5);
      return t;
    }
  }
}

static int same_values(dy_model *a, dy_model *b) {
  /* the whole flat value buffers (internal layout, nn_internal.h) */
  return dy_model_size(a) == dy_model_size(b) && memcmp(a->vals, b->vals, dy_model_size(a) * sizeof(dy_real)) == 0;
}

/* ---------------------------------------------------------------- tests */

START_TEST(crc32_known) {
  ck_assert_uint_eq(dy_crc32("123456789", 9), 0xCBF43926u);
  ck_assert_uint_eq(dy_crc32("", 0), 0);
  /* incremental == one-shot, over lengths that exercise the 8-byte path */
  uint8_t buf[1000];
  for (int i = 0; i < 1000; i++) buf[i] = (uint8_t)(i * 31 + 7);
  dy_crc_table c;
  dy_crc_init(&c);
  for (size_t cut = 0; cut < 1000; cut += 37) {
    uint32_t a = dy_crc_update(&c, dy_crc_update(&c, 0, buf, cut), buf + cut, 1000 - cut);
    ck_assert_uint_eq(a, dy_crc32(buf, 1000));
  }
  /* bytewise reference */
  uint32_t x = ~0u;
  for (int i = 0; i < 1000; i++) {
    x ^= buf[i];
    for (int k = 0; k < 8; k++) x = (x >> 1) ^ (0xEDB88320u & (0u - (x & 1)));
  }
  ck_assert_uint_eq(~x, dy_crc32(buf, 1000));
}
END_TEST

START_TEST(roundtrip_values_and_new) {
  mk_tmpdir();
  dy_model *a = small_model(1);
  dy_param_set_frozen(dy_model_find_param(a, "b"), 1);
  ck_assert_int_eq(dy_model_save(a, NULL, path_of("m.dy")), DY_OK);
  ck_assert_int_eq(count_files(), 1); /* no temporary left */
  dy_model *b = small_model(2);
  ck_assert(!same_values(a, b));
  ck_assert_int_eq(dy_model_load(b, NULL, path_of("m.dy"), NULL), DY_OK);
  ck_assert(same_values(a, b));
  ck_assert_ptr_null(dy_model_error(b));
  /* a new model from the file: same names, kinds, dims, order, values, frozen flags */
  char err[256];
  dy_model *c = dy_model_load_new(path_of("m.dy"), err, sizeof err);
  ck_assert_msg(c != NULL, "%s", err);
  ck_assert_uint_eq(dy_model_num_params(c), 3);
  ck_assert_uint_eq(dy_model_num_lookups(c), 1);
  ck_assert_str_eq(dy_param_name(dy_model_param_at(c, 0)), "enc/W");
  ck_assert_str_eq(dy_lookup_name(dy_model_lookup_at(c, 0)), "enc/E");
  ck_assert_uint_eq(dy_lookup_rows(dy_model_lookup_at(c, 0)), 5);
  ck_assert(dy_dim_eq(dy_param_dim(dy_model_find_param(c, "T")), dy_d3(2, 1, 2)));
  ck_assert_int_eq(dy_param_frozen(dy_model_find_param(c, "b")), 1);
  ck_assert_int_eq(dy_param_frozen(dy_model_find_param(c, "T")), 0);
  ck_assert(same_values(a, c));
  /* the initialiser stream continues where the saved model was */
  dy_param *pa = dy_model_add_param(a, "later", dy_d1(8), dy_init_uniform(-1, 1));
  dy_param *pc = dy_model_add_param(c, "later", dy_d1(8), dy_init_uniform(-1, 1));
  ck_assert(memcmp(dy_param_values(pa), dy_param_values(pc), 8 * sizeof(dy_real)) == 0);
  /* overwrite an existing file */
  ck_assert_int_eq(dy_model_save(a, NULL, path_of("m.dy")), DY_OK);
  ck_assert_int_eq(count_files(), 1);
  dy_model *d = dy_model_load_new(path_of("m.dy"), NULL, 0);
  ck_assert_ptr_nonnull(d);
  ck_assert_uint_eq(dy_model_num_params(d), 4);
  dy_model_free(a);
  dy_model_free(b);
  dy_model_free(c);
  dy_model_free(d);
  rm_tmpdir();
}
END_TEST

/* Save after some training, load into a fresh model and trainer, and the
 * next updates are bitwise identical to the ones of the original. */
START_TEST(resume_identical_updates) {
  mk_tmpdir();
  for (int k = 0; k < 6; k++) {
    dy_model *a = small_model(1);
    dy_trainer *ta = make(a, k);
    dy_trainer_set_schedule(ta, DY_LR_INV, 0.5, 0);
    dy_trainer_set_epoch(ta, 1);
    dy_trainer_set_weight_decay(ta, 0.01);
    train(a, ta, 7, 3);
    ck_assert_int_eq(dy_model_save(a, ta, path_of("r.dy")), DY_OK);
    dy_model *b = small_model(9);
    dy_trainer *tb = make(b, k);
    dy_trainer_set_amsgrad(tb, 0);
    dy_trainer_set_lr(tb, 0.5); /* overwritten by the file */
    ck_assert_int_eq(dy_model_load(b, tb, path_of("r.dy"), NULL), DY_OK);
    ck_assert(same_values(a, b));
    ck_assert_uint_eq(dy_trainer_steps(tb), 7);
    ck_assert(dy_trainer_lr(tb) == dy_trainer_lr(ta));
    train(a, ta, 4, 5);
    train(b, tb, 4, 5);
    ck_assert_msg(same_values(a, b), "trainer %d: the resumed updates differ", k);
    dy_trainer_free(ta);
    dy_trainer_free(tb);
    dy_model_free(a);
    dy_model_free(b);
  }
  rm_tmpdir();
}
END_TEST

/* Every byte flipped, every truncation: an error or identical parameters,
 * never a crash, never a partly loaded model or trainer. */
START_TEST(every_byte_and_truncation) {
  mk_tmpdir();
  dy_model *a = small_model(1);
  dy_trainer *ta = make(a, 4);
  train(a, ta, 3, 1);
  ck_assert_int_eq(dy_model_save(a, ta, path_of("f.dy")), DY_OK);
  size_t n;
  uint8_t *orig = read_all(path_of("f.dy"), &n);
  dy_model *b = small_model(5);
  dy_trainer *tb = make(b, 4);
  train(b, tb, 2, 9);
  size_t P = dy_model_size(b);
  dy_real *snap = malloc(P * sizeof(dy_real));
  memcpy(snap, b->vals, P * sizeof(dy_real));
  uint8_t *buf = malloc(n);
  int errors = 0;
  for (size_t i = 0; i < n; i++) {
    for (int bit = 0; bit < 8; bit += 7) {
      memcpy(buf, orig, n);
      buf[i] ^= (uint8_t)(1u << bit);
      dy_status st = dy_model_load_mem(b, tb, buf, n, "flip", NULL);
      if (st == DY_OK) {
        ck_assert(same_values(a, b)); /* only a byte that cannot matter */
        memcpy(b->vals, snap, P * sizeof(dy_real));
      } else {
        errors++;
        ck_assert_ptr_nonnull(dy_model_error(b));
        ck_assert_msg(memcmp(snap, b->vals, P * sizeof(dy_real)) == 0,
                      "flip at %zu changed the model: %s", i, dy_model_error(b));
        ck_assert_uint_eq(dy_trainer_steps(tb), 2);
      }
      char err[256];
      dy_model *c = dy_model_load_new_mem(buf, n, "flip", err, sizeof err);
      ck_assert(c == NULL ? err[0] != 0 : st == DY_OK);
      dy_model_free(c);
    }
  }
  ck_assert_int_eq(errors, (int)(2 * n)); /* the CRC covers every byte */
  for (size_t len = 0; len < n; len++) {
    dy_status st = dy_model_load_mem(b, tb, orig, len, "trunc", NULL);
    ck_assert_int_ne(st, DY_OK);
    ck_assert(memcmp(snap, b->vals, P * sizeof(dy_real)) == 0);
    ck_assert_ptr_null(dy_model_load_new_mem(orig, len, "trunc", NULL, 0));
  }
  /* also through real files for a few lengths */
  for (size_t len = 0; len < n; len += n / 7 + 1) {
    write_all(path_of("t.dy"), orig, len);
    ck_assert_int_ne(dy_model_load(b, tb, path_of("t.dy"), NULL), DY_OK);
  }
  ck_assert_uint_eq(dy_trainer_steps(tb), 2);
  /* the intact file still loads */
  ck_assert_int_eq(dy_model_load_mem(b, tb, orig, n, "ok", NULL), DY_OK);
  ck_assert(same_values(a, b));
  ck_assert_uint_eq(dy_trainer_steps(tb), 3);
  free(snap);
  free(buf);
  free(orig);
  dy_trainer_free(ta);
  dy_trainer_free(tb);
  dy_model_free(a);
  dy_model_free(b);
  rm_tmpdir();
}
END_TEST

/* Rewrites the CRC of a file image after a deliberate edit. */
static void fix_crc(uint8_t *b, size_t n) {
  uint32_t c = dy_crc32(b, n - 4);
  for (int i = 0; i < 4; i++) b[n - 4 + i] = (uint8_t)(c >> (8 * i));
}

static void expect_err(dy_model *m, dy_status st, dy_status want, const char *const *needles) {
  ck_assert_msg(st == want, "status %d (%s), expected %d: %s", st, dy_status_str(st), want, dy_model_error(m));
  for (; *needles; needles++)
    ck_assert_msg(strstr(dy_model_error(m), *needles), "'%s' not in: %s", *needles, dy_model_error(m));
}

START_TEST(errors_name_parameter_and_offset) {
  mk_tmpdir();
  dy_model *a = small_model(1);
  ck_assert_int_eq(dy_model_save(a, NULL, path_of("a.dy")), DY_OK);
  size_t n;
  uint8_t *orig = read_all(path_of("a.dy"), &n);
  dy_model *b = small_model(3);
  dy_real keep = b->vals[0];
  /* different dims */
  dy_model *d = dy_model_new(1);
  dy_model_add_param(d, "enc/W", dy_d2(4, 3), dy_init_glorot());
  const char *n1[] = {"'enc/W'", "offset 48", "{3,4}", "{4,3}", NULL};
  expect_err(d, dy_model_load(d, NULL, path_of("a.dy"), NULL), DY_EFORMAT, n1);
  /* different kind */
  dy_model *k = dy_model_new(1);
  dy_model_add_lookup(k, "enc/W", 3, dy_d1(4), dy_init_glorot());
  const char *n2[] = {"'enc/W'", "offset 48", "dense parameter", "lookup", NULL};
  expect_err(k, dy_model_load(k, NULL, path_of("a.dy"), NULL), DY_EFORMAT, n2);
  /* lookup with other rows */
  dy_model *r = dy_model_new(1);
  dy_model_add_lookup(r, "enc/E", 6, dy_d1(4), dy_init_glorot());
  const char *n3[] = {"'enc/E'", "5 rows", "x 6", NULL};
  expect_err(r, dy_model_load(r, NULL, path_of("a.dy"), NULL), DY_EFORMAT, n3);
  /* missing name */
  dy_model_add_param(b, "extra", dy_d1(2), dy_init_glorot());
  const char *n4[] = {"'extra'", "not in the file", "offsets", NULL};
  expect_err(b, dy_model_load(b, NULL, path_of("a.dy"), NULL), DY_ENOTFOUND, n4);
  ck_assert(b->vals[0] == keep);
  /* ... but loading a prefix that excludes it works, and only touches the prefix */
  dy_real bkeep = dy_param_values(dy_model_find_param(b, "b"))[0];
  ck_assert_int_eq(dy_model_load(b, NULL, path_of("a.dy"), "enc/"), DY_OK);
  ck_assert(dy_param_values(dy_model_find_param(b, "enc/W"))[0] == dy_param_values(dy_model_find_param(a, "enc/W"))[0]);
  ck_assert(dy_lookup_row(dy_model_find_lookup(b, "enc/E"), 4)[3] == dy_lookup_row(dy_model_find_lookup(a, "enc/E"), 4)[3]);
  ck_assert(dy_param_values(dy_model_find_param(b, "b"))[0] == bkeep);
  const char *n5[] = {"no parameter whose name starts with 'dec/'", NULL};
  expect_err(b, dy_model_load(b, NULL, path_of("a.dy"), "dec/"), DY_ENOTFOUND, n5);
  /* bad magic, version, marker (checked before the checksum) */
  uint8_t *buf = malloc(n);
  memcpy(buf, orig, n);
  buf[3] ^= 1;
  const char *n6[] = {"offset 0", "magic", NULL};
  expect_err(b, dy_model_load_mem(b, NULL, buf, n, "x", NULL), DY_EFORMAT, n6);
  memcpy(buf, orig, n);
  buf[8] = 2;
  const char *n7[] = {"offset 8", "version 2", NULL};
  expect_err(b, dy_model_load_mem(b, NULL, buf, n, "x", NULL), DY_EFORMAT, n7);
  memcpy(buf, orig, n);
  buf[12] = 1, buf[15] = 4;
  const char *n8[] = {"offset 12", "endianness", NULL};
  expect_err(b, dy_model_load_mem(b, NULL, buf, n, "x", NULL), DY_EFORMAT, n8);
  memcpy(buf, orig, n);
  buf[n / 2] ^= 0x10;
  const char *n9[] = {"checksum", NULL};
  expect_err(b, dy_model_load_mem(b, NULL, buf, n, "x", NULL), DY_EFORMAT, n9);
  const char *n10[] = {"truncated", "offset 32", NULL};
  expect_err(b, dy_model_load_mem(b, NULL, orig, n - 10, "x", NULL), DY_EFORMAT, n10);
  /* structurally bad but correctly checksummed: a duplicate name ('b' -> 'T'
   * is not possible with equal lengths in place, so rename enc/W -> enc/E) */
  memcpy(buf, orig, n);
  ck_assert_int_eq(memcmp(buf + 48 + 10, "enc/W", 5), 0);
  buf[48 + 14] = 'E';
  fix_crc(buf, n);
  const char *n11[] = {"'enc/E'", "duplicate", "offset", NULL};
  expect_err(b, dy_model_load_mem(b, NULL, buf, n, "x", NULL), DY_EFORMAT, n11);
  /* a record count that cannot fit */
  memcpy(buf, orig, n);
  buf[24] = 200;
  fix_crc(buf, n);
  const char *n12[] = {"offset 24", "records", NULL};
  expect_err(b, dy_model_load_mem(b, NULL, buf, n, "x", NULL), DY_EFORMAT, n12);
  /* a bad dims field in a record */
  memcpy(buf, orig, n);
  buf[48 + 15] = 0; /* first dim of enc/W -> 0 */
  fix_crc(buf, n);
  const char *n13[] = {"'enc/W'", "offset 48", "inconsistent", NULL};
  expect_err(b, dy_model_load_mem(b, NULL, buf, n, "x", NULL), DY_EFORMAT, n13);
  /* a missing file */
  const char *n14[] = {"cannot open", "nope.dy", NULL};
  expect_err(b, dy_model_load(b, NULL, path_of("nope.dy"), NULL), DY_EIO, n14);
  char err[512];
  ck_assert_ptr_null(dy_model_load_new(path_of("nope.dy"), err, sizeof err));
  ck_assert_ptr_nonnull(strstr(err, "cannot open"));
  /* trainer kind mismatch */
  dy_trainer *ta = make(a, 4), *tb = make(b, 0);
  train(a, ta, 1, 1);
  ck_assert_int_eq(dy_model_save(a, ta, path_of("t.dy")), DY_OK);
  dy_model *c = small_model(3);
  dy_trainer *tc = make(c, 0);
  const char *n15[] = {"Adam state", "trainer is SGD", NULL};
  expect_err(c, dy_model_load(c, tc, path_of("t.dy"), NULL), DY_EFORMAT, n15);
  ck_assert_int_eq(dy_model_load(c, NULL, path_of("t.dy"), NULL), DY_OK); /* parameters only: fine */
  dy_trainer_free(ta);
  dy_trainer_free(tb);
  dy_trainer_free(tc);
  free(buf);
  free(orig);
  dy_model_free(a);
  dy_model_free(b);
  dy_model_free(c);
  dy_model_free(d);
  dy_model_free(k);
  dy_model_free(r);
  rm_tmpdir();
}
END_TEST

/* A trainer whose state predates parameters added later: loading a file
 * (with or without state) covers the new parameters too. */
START_TEST(load_after_model_grew) {
  mk_tmpdir();
  for (int with_state = 0; with_state < 2; with_state++) {
    dy_model *a = small_model(1);
    dy_model_add_lookup(a, "late", 300, dy_d1(8), dy_init_glorot());
    dy_model_add_param(a, "late2", dy_d2(30, 30), dy_init_glorot());
    dy_trainer *ta = make(a, 5);
    if (with_state) train(a, ta, 2, 1);
    ck_assert_int_eq(dy_model_save(a, ta, path_of("g.dy")), DY_OK);
    dy_model *b = small_model(2);
    dy_trainer *tb = make(b, 5);
    train(b, tb, 2, 3); /* state for the small model only */
    dy_model_add_lookup(b, "late", 300, dy_d1(8), dy_init_glorot());
    dy_model_add_param(b, "late2", dy_d2(30, 30), dy_init_glorot());
    ck_assert_msg(dy_model_load(b, tb, path_of("g.dy"), NULL) == DY_OK, "%s", dy_model_error(b));
    ck_assert(same_values(a, b));
    train(a, ta, 2, 5);
    train(b, tb, 2, 5);
    ck_assert(same_values(a, b));
    dy_trainer_free(ta);
    dy_trainer_free(tb);
    dy_model_free(a);
    dy_model_free(b);
  }
  rm_tmpdir();
}
END_TEST

/* An independent reader of the documented format: rewrites a file image with
 * scalars of the other precision (4 <-> 8 bytes), fixing size and CRC. */
static uint32_t le32(const uint8_t *b) { return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24; }
static uint64_t le64(const uint8_t *b) { return le32(b) | (uint64_t)le32(b + 4) << 32; }
static void set32(uint8_t *b, uint32_t v) { for (int i = 0; i < 4; i++) b[i] = (uint8_t)(v >> (8 * i)); }
static void set64(uint8_t *b, uint64_t v) { for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i)); }

static uint8_t *convert_precision(const uint8_t *in, size_t n, size_t *outn) {
  uint32_t S = le32(in + 16), T = S == 4 ? 8 : 4, flags = le32(in + 20), nrec = le32(in + 24);
  uint8_t *out = malloc(2 * n + 64);
  size_t i = 0, o = 0;
  memcpy(out, in, 48);
  set32(out + 16, T);
  i = o = 48;
  uint32_t K = 0, kind = 0;
  if (flags & 1) {
    memcpy(out + o, in + i, 120);
    kind = le32(in + i + 4);
    K = le32(in + i + 8);
    i += 120;
    o += 120;
  }
  for (uint32_t r = 0; r < nrec; r++) {
    uint32_t nd = in[i + 5], L = (uint32_t)in[i + 8] | (uint32_t)in[i + 9] << 8;
    size_t fixed = 10 + L + 4 * nd + 12;
    uint32_t rows = le32(in + i + 10 + L + 4 * nd);
    uint64_t C = le64(in + i + 10 + L + 4 * nd + 4);
    memcpy(out + o, in + i, fixed);
    i += fixed;
    o += fixed;
    for (uint64_t k = 0; k < C * (1 + K); k++) {
      double v;
      if (S == 4) {
        uint32_t u = le32(in + i);
        float f;
        memcpy(&f, &u, 4);
        v = f;
      } else {
        uint64_t u = le64(in + i);
        memcpy(&v, &u, 8);
      }
      i += S;
      if (T == 4) {
        float f = (float)v;
        uint32_t u;
        memcpy(&u, &f, 4);
        set32(out + o, u);
      } else {
        uint64_t u;
        memcpy(&u, &v, 8);
        set64(out + o, u);
      }
      o += T;
    }
    if (kind == 4 && K) {
      memcpy(out + o, in + i, 8 * (size_t)rows);
      i += 8 * (size_t)rows;
      o += 8 * (size_t)rows;
    }
  }
  ck_assert_uint_eq(i, n - 4); /* the documented layout accounts for every byte */
  o += 4;
  set64(out + 32, o);
  fix_crc(out, o);
  *outn = o;
  return out;
}

/* A file in the other precision loads, converted (values exact when going
 * up from float; rounded to float when going down). */
START_TEST(other_precision) {
  mk_tmpdir();
  dy_model *a = small_model(1);
  dy_trainer *ta = make(a, 4);
  train(a, ta, 3, 1);
  ck_assert_int_eq(dy_model_save(a, ta, path_of("p.dy")), DY_OK);
  size_t n, cn;
  uint8_t *orig = read_all(path_of("p.dy"), &n);
  uint8_t *conv = convert_precision(orig, n, &cn);
  ck_assert_uint_eq(le32(conv + 16), sizeof(dy_real) == 4 ? 8 : 4);
  dy_model *b = small_model(4);
  dy_trainer *tb = make(b, 4);
  ck_assert_msg(dy_model_load_mem(b, tb, conv, cn, "conv", NULL) == DY_OK, "%s", dy_model_error(b));
  for (size_t i = 0; i < dy_model_size(a); i++) ck_assert(b->vals[i] == a->vals[i] || sizeof(dy_real) == 8);
  for (size_t i = 0; i < dy_model_size(a); i++) ck_assert(fabs((double)b->vals[i] - (double)a->vals[i]) <= 1e-6 * fabs((double)a->vals[i]));
  ck_assert_uint_eq(dy_trainer_steps(tb), 3);
  /* and back: the round trip through the other precision is lossless for float */
  size_t bn;
  uint8_t *back = convert_precision(conv, cn, &bn);
  ck_assert_uint_eq(bn, n);
  if (sizeof(dy_real) == 4) ck_assert(memcmp(back, orig, n) == 0);
  char err[256];
  dy_model *c = dy_model_load_new_mem(conv, cn, "conv", err, sizeof err);
  ck_assert_msg(c != NULL, "%s", err);
  dy_model_free(c);
  free(orig);
  free(conv);
  free(back);
  dy_trainer_free(ta);
  dy_trainer_free(tb);
  dy_model_free(a);
  dy_model_free(b);
  rm_tmpdir();
}
END_TEST

/* A failing write (file size limit standing in for a full disk), a missing
 * directory, an unwritable one: DY_EIO, the old file intact, no temporary. */
START_TEST(atomic_on_failure) {
  mk_tmpdir();
  dy_model *a = small_model(1);
  ck_assert_int_eq(dy_model_save(a, NULL, path_of("m.dy")), DY_OK);
  size_t n0;
  uint8_t *old = read_all(path_of("m.dy"), &n0);
  dy_model *big = dy_model_new(2);
  dy_model_add_lookup(big, "E", 4000, dy_d1(64), dy_init_glorot());
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit rl, keep;
  getrlimit(RLIMIT_FSIZE, &keep);
  rl = keep;
  rl.rlim_cur = 100000; /* the soft limit only, so that it can be restored */
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
  dy_status st = dy_model_save(big, NULL, path_of("m.dy"));
  setrlimit(RLIMIT_FSIZE, &keep);
  ck_assert_int_eq(st, DY_EIO);
  ck_assert_ptr_nonnull(strstr(dy_model_error(big), "cannot write the temporary file"));
  ck_assert_ptr_nonnull(strstr(dy_model_error(big), "unchanged"));
  size_t n1;
  uint8_t *now = read_all(path_of("m.dy"), &n1);
  ck_assert_uint_eq(n0, n1);
  ck_assert(memcmp(old, now, n0) == 0);
  ck_assert_int_eq(count_files(), 1);
  /* a directory that does not exist */
  ck_assert_int_eq(dy_model_save(a, NULL, path_of("no/such/dir/m.dy")), DY_EIO);
  ck_assert_ptr_nonnull(strstr(dy_model_error(a), "cannot create the temporary file"));
  /* a directory nobody may write (root may: then only /proc, which refuses everyone) */
  ck_assert_int_eq(dy_model_save(a, NULL, "/proc/dync_test_model.dy"), DY_EIO);
  if (geteuid() != 0) {
    ck_assert_int_eq(chmod(tmpdir, 0555), 0);
    ck_assert_int_eq(dy_model_save(a, NULL, path_of("m.dy")), DY_EIO);
    chmod(tmpdir, 0755);
    free(now);
    now = read_all(path_of("m.dy"), &n1);
    ck_assert(n1 == n0 && memcmp(old, now, n0) == 0);
  }
  ck_assert_int_eq(count_files(), 1);
  free(old);
  free(now);
  dy_model_free(a);
  dy_model_free(big);
  rm_tmpdir();
}
END_TEST

/* A tagger-sized model (25k x 128 embedding, BiLSTM 2 x 50, MLP 32, 17 tags)
 * takes ~4 bytes per float on disk (DyNet's text format: ~17). */
START_TEST(tagger_sized_file) {
  mk_tmpdir();
  dy_model *m = dy_model_new(1);
  dy_model_push(m, "tagger");
  dy_model_add_lookup(m, "words", 25000, dy_d1(128), dy_init_glorot());
  const char *dirs[2] = {"fwd", "bwd"};
  for (int d = 0; d < 2; d++) {
    dy_model_push(m, dirs[d]);
    dy_model_add_param(m, "W_x", dy_d2(200, 128), dy_init_glorot());
    dy_model_add_param(m, "W_h", dy_d2(200, 50), dy_init_glorot());
    dy_model_add_param(m, "b", dy_d1(200), dy_init_const(0));
    dy_model_pop(m);
  }
  dy_model_add_param(m, "mlp/W", dy_d2(32, 100), dy_init_glorot());
  dy_model_add_param(m, "mlp/b", dy_d1(32), dy_init_const(0));
  dy_model_add_param(m, "out/W", dy_d2(17, 32), dy_init_glorot());
  dy_model_add_param(m, "out/b", dy_d1(17), dy_init_const(0));
  ck_assert_msg(dy_model_save(m, NULL, path_of("tagger.dy")) == DY_OK, "%s", dy_model_error(m));
  struct stat sb;
  ck_assert_int_eq(stat(path_of("tagger.dy"), &sb), 0);
  double per = (double)sb.st_size / (double)dy_model_size(m);
  ck_assert_msg(per < sizeof(dy_real) * 1.001, "%.4f bytes per parameter", per);
  dy_model *c = dy_model_load_new(path_of("tagger.dy"), NULL, 0);
  ck_assert_ptr_nonnull(c);
  ck_assert(same_values(m, c));
  dy_model_free(c);
  dy_model_free(m);
  rm_tmpdir();
}
END_TEST

int main(void) {
  Suite *s = suite_create("saveload");
  TCase *tc = tcase_create("saveload");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, crc32_known);
  tcase_add_test(tc, roundtrip_values_and_new);
  tcase_add_test(tc, resume_identical_updates);
  tcase_add_test(tc, every_byte_and_truncation);
  tcase_add_test(tc, errors_name_parameter_and_offset);
  tcase_add_test(tc, load_after_model_grew);
  tcase_add_test(tc, other_precision);
  tcase_add_test(tc, atomic_on_failure);
  tcase_add_test(tc, tagger_sized_file);
  suite_add_tcase(s, tc);
  return t_run(s);
}
