/* dync models: recurrent network builders (and, later, taggers, language
 * models, corpora).
 *
 * A builder adds its parameters to a dy_model once (dy_rnn_new) and unrolls
 * itself into any graph step by step, the way DyNet's LSTMBuilder does:
 *
 *   dy_rnn *r = dy_rnn_new(m, "fwd", DY_LSTM, 1, 128, 50);   // once
 *   dy_rnn_state s = dy_rnn_start(r, g);                      // per graph
 *   s = dy_rnn_add_input(s, x);  dy_expr h = dy_rnn_output(s);
 *   dy_rnn_transduce(r, g, xs, n, ys);                        // whole sequence
 *
 * States are values: dy_rnn_add_input returns a new state and leaves the old
 * one valid, so beam search and branching just keep old states around. A
 * state lives as long as its graph's generation (dy_graph_renew makes it
 * stale; using it then is a DY_ESTALE graph error). Errors (an input of the
 * wrong size, a stale state) go to the graph's sticky error and give invalid
 * expressions; nothing aborts.
 */
#ifndef DY_MODELS_H
#define DY_MODELS_H

#include "dy_core.h"
#include "dy_nn.h"
#include "dy_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ===================================================================== RNN
 * Cells (x_t: (X), h: (H), all products one node each):
 *
 * DY_SRNN (Elman):  h_t = tanh(W_x x_t + W_h h_{t-1} + b)
 *   W_x: (H, X), W_h: (H, H), b: (H)
 *
 * DY_LSTM (no peepholes; one product with x and one with h for all gates):
 *   a_t = W_x x_t + W_h h_{t-1} + b                          a_t: (4H)
 *   i = sigmoid(a[0:H])   f = sigmoid(a[H:2H])   o = sigmoid(a[2H:3H])
 *   z = tanh(a[3H:4H])
 *   c_t = f * c_{t-1} + i * z          h_t = o * tanh(c_t)    (* elementwise)
 *   W_x: (4H, X), W_h: (4H, H), b: (4H); rows in the order i, f, o, z;
 *   b initialised to 0 except the forget-gate rows b[H:2H] = 1.
 *
 * DY_GRU, the cuDNN / PyTorch variant: the reset gate multiplies the product
 * W_hn h_{t-1} (after it), not h_{t-1} before the product as in Cho et al.
 * 2014 and DyNet. Then all three gates use one product with x and one with h:
 *   p_t = W_x x_t + b_x        q_t = W_h h_{t-1} + b_h           p, q: (3H)
 *   r = sigmoid(p[0:H] + q[0:H])          (reset)
 *   u = sigmoid(p[H:2H] + q[H:2H])        (update)
 *   n = tanh(p[2H:3H] + r * q[2H:3H])     (candidate)
 *   h_t = (1 - u) * n + u * h_{t-1}
 *   W_x: (3H, X), b_x: (3H) (the parameter "b"), W_h: (3H, H), b_h: (3H);
 *   rows in the order r, u, n; biases 0.
 *
 * Matrices are Glorot-initialised. Parameters are named
 * "<name>/l<k>/W_x", ".../W_h", ".../b" (and ".../b_h" for the GRU) under the
 * model's current sub-collection.
 *
 * Stacking: layer k > 0 takes h_t of layer k-1 as its input (input dim H).
 * The initial state is zero unless given (dy_rnn_start_with).
 *
 * Dropout (variational, Gal & Ghahramani 2016): one mask per layer for the
 * layer's input and one for h_{t-1} where it enters W_h, drawn from the
 * graph's RNG at dy_rnn_start and fixed for the whole sequence (shared over
 * the batch); kept units are scaled by 1/(1-p). No masks in test mode
 * (dy_graph_set_train(g, 0)) or when the rate is 0.
 *
 * Graph form: every step's nodes carry the time tag t (the input's position,
 * from 0) and the key nodes are named "<name>/h_t" and "<name>/c_t" (with
 * "/l<k>" for layers above 0), so dumps group and label them. The fused path
 * (default) costs per step and layer: LSTM 4 nodes (one affine for a_t, then
 * "lstm_gates", "lstm_c", "lstm_h" from models/rnn_cells.c), GRU 3 (two
 * affines, one "gru_cell"), SRNN 2 (affine, tanh). dy_rnn_transduce over
 * batch-1 inputs instead computes W_x x_t + b for all t as one product per
 * layer and adds one "pick_batch_elem" node per step; with the deferred dW_h
 * below, a BiLSTM tagger update (emb 128, H 50) runs about 40% fewer
 * instructions than with per-step products. The reference path
 * (dy_rnn_set_fused(r, 0)) builds the same equations from primitive ops
 * (pick_range, sigmoid, tanh, cmult, add) for teaching dumps and as a test
 * oracle. dy_rnn_transduce keeps these per-step nodes (dumps group them by
 * time tag, and the states of every step stay expressions); the whole-sequence
 * path, dy_rnn_transduce_batch, builds 2 nodes per layer instead (one input
 * product for all positions, one "lstm_seq" / "gru_seq" / "srnn_seq") with
 * the same values, for speed: the BiLSTM tagger's fastest path. */

#define DY_RNN_MAX_LAYERS 8

typedef enum dy_rnn_kind { DY_SRNN, DY_LSTM, DY_GRU } dy_rnn_kind;

typedef struct dy_rnn dy_rnn;
struct dy_rnn_seq;

/* The state of an unrolled RNN after t inputs. A value: copy it freely. */
typedef struct dy_rnn_state {
  const dy_rnn *rnn;
  dy_graph *g;
  const struct dy_rnn_seq *seq;     /* per-sequence data in g (parameter nodes, masks) */
  uint32_t gen;                     /* g's generation at dy_rnn_start */
  int32_t t;                        /* inputs added so far */
  uint32_t hzero, czero;            /* bit k: h (c) of layer k is the zero start state */
  dy_expr h[DY_RNN_MAX_LAYERS];     /* (H) per layer */
  dy_expr c[DY_RNN_MAX_LAYERS];     /* (H) per layer, LSTM only */
} dy_rnn_state;

/* Adds the parameters of a `layers`-deep RNN of `kind` (input_dim X, hidden
 * H) to m under the sub-collection `name`. NULL when layers is 0 or above
 * DY_RNN_MAX_LAYERS, a size is 0, name is NULL/empty, or the model refuses a
 * parameter (dy_model_error(m) says why). */
dy_rnn *dy_rnn_new(dy_model *m, const char *name, dy_rnn_kind kind, uint32_t layers,
                   uint32_t input_dim, uint32_t hidden_dim);
/* Frees the builder (its parameters stay in the model). NULL is allowed. */
void dy_rnn_free(dy_rnn *r);

/* Sizes and kind of a builder. */
dy_rnn_kind dy_rnn_get_kind(const dy_rnn *r);
uint32_t dy_rnn_layers(const dy_rnn *r);
uint32_t dy_rnn_input_dim(const dy_rnn *r);
uint32_t dy_rnn_hidden_dim(const dy_rnn *r);
/* Parameter `which` ("W_x", "W_h", "b", "b_h") of layer k, or NULL. */
dy_param *dy_rnn_param(const dy_rnn *r, uint32_t layer, const char *which);

/* Dropout rates on layer inputs and on recurrent states, each in [0, 1);
 * takes effect at the next dy_rnn_start. Returns DY_EARG for a bad rate. */
dy_status dy_rnn_set_dropout(dy_rnn *r, dy_real input_rate, dy_real recurrent_rate);
/* 1 (default): fused cell ops; 0: the reference path from primitive ops. */
void dy_rnn_set_fused(dy_rnn *r, int fused);
/* 1 (default): dy_rnn_transduce computes each layer's input products for the
 * whole sequence as one matrix product (batch-1 inputs, fused path only);
 * 0: one product per step. Same values either way. */
void dy_rnn_set_precompute(dy_rnn *r, int on);
/* 1 (default): on that precomputed path, dW_h is one matrix product over all
 * steps (an "rnn_wseq" node per layer; steps are "rnn_rec" nodes) instead of
 * one outer product per step; 0: plain affine steps. Same values either way. */
void dy_rnn_set_defer_wh(dy_rnn *r, int on);

/* A zero initial state in g (parameter nodes and dropout masks are created
 * here). */
dy_rnn_state dy_rnn_start(dy_rnn *r, dy_graph *g);
/* The same with caller-given initial states: h0[k] (and c0[k] for an LSTM)
 * of dim (H) (any batch) per layer; h0 or c0 NULL means zeros. */
dy_rnn_state dy_rnn_start_with(dy_rnn *r, dy_graph *g, const dy_expr *h0, const dy_expr *c0);
/* One step: x (X) (any batch) -> the new state; s stays valid. An x of the
 * wrong size is a DY_ESHAPE graph error naming the builder and the step. */
dy_rnn_state dy_rnn_add_input(dy_rnn_state s, dy_expr x);
/* h of the top layer (H); a zero node for a zero start state. */
dy_expr dy_rnn_output(dy_rnn_state s);
/* h (c) of layer k; c is only for an LSTM (else invalid + graph error). */
dy_expr dy_rnn_h(dy_rnn_state s, uint32_t layer);
dy_expr dy_rnn_c(dy_rnn_state s, uint32_t layer);

/* Runs the RNN from a zero state over xs[0..n) and writes the top-layer
 * outputs to ys[0..n) (ys may be xs). Returns the graph's status. */
dy_status dy_rnn_transduce(dy_rnn *r, dy_graph *g, const dy_expr *xs, uint32_t n, dy_expr *ys);
/* The whole sequence at once: X (X) batch T (position t = batch element t)
 * -> top-layer outputs (H) batch T from a zero state, one "<kind>_seq" node
 * per layer (below); same values and dropout masks as dy_rnn_transduce.
 * Invalid expression + graph error (DY_ESHAPE naming the builder) on a bad X. */
dy_expr dy_rnn_transduce_batch(dy_rnn *r, dy_graph *g, dy_expr X);

/* ======================================================= bidirectional RNN
 * Layer k runs a forward and a backward single-layer RNN over the sequence;
 * position i's output is [f_i; b_i] (2H), where f_i has read x_0..x_i and
 * b_i has read x_{n-1}..x_i; layer k > 0 reads layer k-1's concatenations
 * (input dim 2H). Parameters: "<name>/fwd/l<k>/..." and "<name>/bwd/l<k>/...". */

typedef struct dy_birnn dy_birnn;

/* Adds a `layers`-deep bidirectional RNN (input X, H per direction) to m.
 * NULL on the same conditions as dy_rnn_new. */
dy_birnn *dy_birnn_new(dy_model *m, const char *name, dy_rnn_kind kind, uint32_t layers,
                       uint32_t input_dim, uint32_t hidden_dim);
void dy_birnn_free(dy_birnn *b);
/* The forward (dir 0) or backward (dir 1) builder of layer k, or NULL. */
dy_rnn *dy_birnn_dir(const dy_birnn *b, uint32_t layer, int dir);
/* Output size per position: 2H. */
uint32_t dy_birnn_output_dim(const dy_birnn *b);
/* Dropout, fused and precompute settings, applied to every direction/layer. */
dy_status dy_birnn_set_dropout(dy_birnn *b, dy_real input_rate, dy_real recurrent_rate);
void dy_birnn_set_fused(dy_birnn *b, int fused);
void dy_birnn_set_precompute(dy_birnn *b, int on);
/* ys[i] = [f_i; b_i] (2H) for i in [0, n) (ys may be xs). Returns the
 * graph's status. */
dy_status dy_birnn_transduce(dy_birnn *b, dy_graph *g, const dy_expr *xs, uint32_t n, dy_expr *ys);
/* X (X) batch T -> (2H) batch T, element t = [f_t; b_t], with one
 * whole-sequence node per layer and direction (as dy_rnn_transduce_batch). */
dy_expr dy_birnn_transduce_batch(dy_birnn *b, dy_graph *g, dy_expr X);

/* =================================================== fused cell operations
 * Ops of models/rnn_cells.c, used by the fused path; usable directly. All are
 * elementwise per batch element (batch-1 arguments broadcast). */

/* a (4H) -> [sigmoid(a[0:3H]); tanh(a[3H:4H])] (4H): the LSTM gates i, f, o, z. */
dy_expr dy_lstm_gates(dy_expr a);
/* gates (4H), c_prev (H) -> c = f * c_prev + i * z (H). */
dy_expr dy_lstm_c(dy_expr gates, dy_expr c_prev);
/* gates (4H) -> c = i * z (H): the first step from c_prev = 0. */
dy_expr dy_lstm_c0(dy_expr gates);
/* gates (4H), c (H) -> h = o * tanh(c) (H). */
dy_expr dy_lstm_h(dy_expr gates, dy_expr c);
/* p (3H), q (3H), h_prev (H) -> h_t of the GRU equations above (H). */
dy_expr dy_gru_cell(dy_expr p, dy_expr q, dy_expr h_prev);
/* p (3H), q (3H) -> h_t with h_prev = 0. */
dy_expr dy_gru_cell0(dy_expr p, dy_expr q);
/* The descriptors of these ops, NULL-terminated (for tools and dumps). */
extern const dy_op *const dy_ops_rnn_cells[];

/* ============================================= whole-sequence recurrences
 * Ops of models/rnn_seq.c (the cuDNN form): one node runs one layer and
 * direction over all T positions of one sequence. P holds the input
 * products of every position as a batch: P_t = W_x x_t + b (b_x for the
 * GRU), (GH) batch T with G = 4 (LSTM), 3 (GRU), 1 (S-RNN). W_h: (GH, H).
 * Optional (NULL = absent) h0, c0: initial states (H) (zero when absent);
 * mask: (H), multiplies h_{t-1} where it enters W_h (recurrent dropout).
 * reverse != 0 runs from position T-1 down to 0 (position t reads the state
 * of t+1) and still writes h_t at batch element t. Output: h (H) batch T.
 * Forward keeps every step's gates in graph data; backward is BPTT with one
 * matrix product for dW_h. Bad shapes: DY_ESHAPE naming the op and dims. */
dy_expr dy_lstm_seq(dy_expr P, dy_expr W_h, const dy_expr *h0, const dy_expr *c0, const dy_expr *mask,
                    int reverse);
/* GRU (the equations above): q_t = W_h (mask * h_{t-1}) + b_h, b_h (3H). */
dy_expr dy_gru_seq(dy_expr P, dy_expr W_h, dy_expr b_h, const dy_expr *h0, const dy_expr *mask, int reverse);
/* S-RNN: h_t = tanh(P_t + W_h (mask * h_{t-1})). */
dy_expr dy_srnn_seq(dy_expr P, dy_expr W_h, const dy_expr *h0, const dy_expr *mask, int reverse);
/* The descriptors lstm_seq, gru_seq, srnn_seq, NULL-terminated. */
extern const dy_op *const dy_ops_rnn_seq[];

#ifdef __cplusplus
}
#endif

/* The rest of models/: corpora and generated data, language models. */
#include "dy_corpus.h"
#include "dy_lm.h"
#include "dy_tagger.h"

#endif
