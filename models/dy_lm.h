/* dync language models: an RNN over token embeddings with a softmax over the
 * vocabulary, trained on minibatches (the batch dimension) with masking, on
 * windows of a stream with or without carried state (truncated BPTT), and
 * sampled with a temperature.
 *
 *   embedding E: (V rows of {emb}) -> RNN (layers x hidden) -> O h + b_o (V)
 *
 * A minibatch is time-major: at step t the B inputs in[t*B + b] and targets
 * out[t*B + b], with an optional mask (1 = counts, 0 = padding). The loss is
 * the SUM of the token negative log-likelihoods that count (natural log).
 * The output layer and the loss run once over all T*B positions, as one node
 * (dy_lm_output_nll): three matrix products in all, padding skipped.
 */
#ifndef DY_LM_H
#define DY_LM_H

#include "dy_models.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dy_lm_opts {
  dy_rnn_kind kind;   /* default DY_LSTM */
  uint32_t layers;    /* default 1 */
  uint32_t emb;       /* default 64 */
  uint32_t hidden;    /* default 128 */
  dy_real dropout;    /* input and recurrent dropout rate, default 0 */
} dy_lm_opts;

/* LSTM, 1 layer, emb 64, hidden 128, no dropout (the PTB task's sizes). */
dy_lm_opts dy_lm_defaults(void);

typedef struct dy_lm dy_lm;

/* Adds a language model over a vocabulary of `vocab` ids to m under the
 * sub-collection `name`. NULL (dy_model_error(m) says why) on bad sizes. */
dy_lm *dy_lm_new(dy_model *m, const char *name, uint32_t vocab, const dy_lm_opts *o);
/* Frees the builder (parameters stay in the model). NULL is allowed. */
void dy_lm_free(dy_lm *lm);
/* Vocabulary size, options and the RNN of lm. */
uint32_t dy_lm_vocab(const dy_lm *lm);
const dy_lm_opts *dy_lm_options(const dy_lm *lm);
dy_rnn *dy_lm_rnn(const dy_lm *lm);

/* State carried between windows (truncated BPTT): h (and c) of every layer
 * for B streams, as plain values. Allocate with dy_lm_state_size(). */
size_t dy_lm_state_size(const dy_lm *lm, uint32_t B);

/* The summed loss of a time-major minibatch: T steps of B tokens, inputs
 * in[T*B], targets out[T*B], mask[T*B] (NULL: all count). The RNN starts
 * from state_in (dy_lm_state_size values) when non-NULL, else from zero; when
 * final is non-NULL it receives the state after the last step (for
 * dy_lm_state_get). An id >= vocab is a DY_EINDEX graph error. */
dy_expr dy_lm_loss(dy_lm *lm, dy_graph *g, const uint32_t *in, const uint32_t *out,
                   const dy_real *mask, uint32_t T, uint32_t B, const dy_real *state_in,
                   dy_rnn_state *final);
/* Copies state s (of B streams) into state_out (dy_lm_state_size values),
 * forwarding its graph as needed: the state_in of the next window. Returns
 * the graph's status. */
dy_status dy_lm_state_get(const dy_lm *lm, dy_rnn_state s, uint32_t B, dy_real *state_out);

/* The output layer and its loss as one node: for the N positions of h ({H},
 * batch N), z_k = W h_k + b and loss_k = m_k (logsumexp(z_k) - z_k[y_k]), a
 * batch of N {1}. b {V} and W (V,H) have batch 1; y: N targets < V; m: N
 * weights (NULL: all 1), positions of weight 0 are skipped (loss 0, no
 * gradient). y and m are copied. Keeps (count of nonzero m) x V reals of
 * graph data for the backward. A target >= V is a DY_EINDEX graph error. */
dy_expr dy_lm_output_nll(dy_expr b, dy_expr W, dy_expr h, const uint32_t *y, const dy_real *m);

/* Sentences as a minibatch, DyNet rnnlm-batch style: every sentence s of
 * len[s] ids is read as inputs [bos, w_1..w_n] and predicts [w_1..w_n, eos];
 * shorter sentences are padded and masked. Returns the summed loss and sets
 * *ntok to the number of predicted tokens (sum of len + 1). */
dy_expr dy_lm_sentences_loss(dy_lm *lm, dy_graph *g, const uint32_t *const *sents,
                             const uint32_t *len, uint32_t B, uint32_t bos, uint32_t eos,
                             size_t *ntok);

/* Samples n ids after feeding the prime ids prime[0..np) (np >= 1) from a
 * zero state, at temperature temp (> 0; 1 = the model's distribution, lower
 * is greedier), with a RNG seeded by seed; writes them to out. Uses g (renewed
 * first) in test mode. Returns the graph's status. */
dy_status dy_lm_sample(dy_lm *lm, dy_graph *g, const uint32_t *prime, uint32_t np, uint32_t n,
                       double temp, uint64_t seed, uint32_t *out);

#ifdef __cplusplus
}
#endif
#endif
