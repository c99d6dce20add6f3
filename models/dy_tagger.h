/* dync taggers: the per-sentence RNN part-of-speech tagger of DyNet's
 * tutorial (neulab/dynet-benchmark bilstm-tagger), with UNK handling and
 * optional character-level word vectors.
 *
 *   x_i = [E w_i]                    word embedding (emb, default 128)
 *       or [E w_i; cf_i; cb_i]       with char vectors: the final states of a
 *                                    char BiLSTM (char_hidden per direction,
 *                                    default 64) over the UTF-8 BYTES of the
 *                                    word's form (char embedding char_emb, 20)
 *   y_1..y_n = RNN(x_1..x_n)         S-RNN / LSTM / GRU (dy_models.h), uni- or
 *                                    bidirectional ([f_i; b_i]), hidden per
 *                                    direction (default 50), `layers` deep
 *   s_i = O tanh(H y_i + bh) + bo    MLP (mlp, default 32) -> tag scores (T)
 *   loss = sum_i -log softmax(s_i)[t_i]   summed over the sentence
 *
 * Word ids come from a dy_vocab with an UNK entry: id 0 (DY_TAGGER_UNK) is
 * the one UNK row, used for every word unseen in training (and, with
 * dy_vocab_threshold, for rare ones). Word dropout (opts.word_dropout) maps a
 * training token to UNK with that probability, drawn from the graph's RNG, in
 * training mode only; it is what trains the UNK row when every training word
 * has its own row; opts.word_dropout_alpha drops rare words more often than
 * frequent ones.
 *
 * Fast path: one lookup node per word, the RNN's input products for a whole
 * sentence as one matrix product (dy_rnn_set_precompute), fused cells, the
 * char BiLSTM over all words of equal length as one batch, and the
 * MLP and the loss over all the words of a sentence as one batch (one gemm per
 * layer, one pick_neg_log_softmax_batch); sparse lookup updates come from the
 * trainer. One graph per sentence: renew it between sentences.
 *
 *   dy_tagger_opts o = dy_tagger_defaults();   // BiLSTM, seed sizes
 *   dy_tagger *t = dy_tagger_new(m, &o, dy_vocab_size(W), dy_vocab_size(T));
 *   for each sentence i: dy_graph_renew(g);
 *     dy_tagger_sent s = dy_tagger_corpus_sent(train, i, forms);
 *     dy_backward(dy_tagger_loss(t, g, &s)); dy_trainer_update(tr);
 *
 * Measured on UD English EWT (UPOS; dev 25,147 words, 8.3% unknown to the
 * training vocabulary), SGD 0.1, gradient clipping 5, shuffled epochs:
 *   - these defaults (BiLSTM 128/50/32, Glorot), one epoch, seeds 1-3: dev
 *     0.889/0.905/0.894 (dync-tagger train --bi), 0.889/0.890/0.895
 *     (dync-bench tagger --epochs 1); with init TORCH 0.837/0.827/0.845,
 *     like the PyTorch reference (peers/torch_tagger.py --fused
 *     --bidirectional): 0.847/0.844/0.824. Adding word_dropout_alpha 0.25:
 *     0.894/0.901/0.902 (dync-tagger), 0.896/0.900/0.902 (dync-bench).
 *   - with char vectors (20 / 64), word_dropout_alpha 0.25, dropout 0.2 and
 *     lr / (1 + 0.1 (epoch - 1)), seed 1: dev 0.916 after one epoch, 0.940
 *     after 4, 0.944-0.947 in epochs 6-10 (unknown words 0.75-0.76); seed 2:
 *     0.923, 0.941 after 4, 0.944-0.945 in epochs 6-10 (best 0.9448):
 *       dync-tagger train --bi --char --epochs 10 --word-dropout-alpha 0.25
 *                   --dropout 0.2 --lr-decay 0.1 ...
 *     (without dropout and decay: 0.919, 0.931, 0.937, 0.939, 0.940, 0.943,
 *     0.940 in epochs 1-7, the dev loss rising from epoch 4).
 *
 * Errors: a bad sentence (a word or tag id out of range, no forms for a char
 * tagger) is a sticky graph error; nothing aborts.
 *
 * This header needs dy_models.h's RNN declarations: dy_models.h may include
 * it at its end (after them), never before.
 */
#ifndef DY_TAGGER_H
#define DY_TAGGER_H

#include "dy_core.h"
#include "dy_corpus.h"
#include "dy_models.h"
#include "dy_nn.h"
#include "dy_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DY_TAGGER_UNK 0u /* the UNK word id (dy_vocab's convention) */

/* Initialisation schemes. The default is DyNet's (GLOROT): what matters is
 * the embeddings' scale. With N(0,1) word vectors (|row| ~ 11) SGD at 0.1
 * moves them little in one epoch, and the one untrained UNK row is a large
 * random vector; Glorot rows are U(+-sqrt(3/emb)) (|row| ~ 1). Measured on UD
 * EWT (BiLSTM 128/50/32, SGD 0.1, one epoch, seeds 1-3): torch 0.827-0.845,
 * glorot 0.889-0.905, torch with Glorot embeddings only 0.888-0.899. */
typedef enum dy_tagger_init {
  /* PyTorch's defaults, as the reference tagger: embeddings N(0,1); RNN
   * weights and biases U(-1/sqrt(H), 1/sqrt(H)) (LSTM/S-RNN bias: the sum of
   * two such draws, like torch's b_ih + b_hh; no forget-gate offset); MLP
   * weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
  DY_TAGGER_INIT_TORCH = 0,
  /* DyNet's: Glorot for matrices and embeddings (a row {n}: U(+-sqrt(3/n))),
   * zero biases, the RNN builders' own init (LSTM forget bias 1). */
  DY_TAGGER_INIT_GLOROT
} dy_tagger_init;

typedef struct dy_tagger_opts {
  dy_rnn_kind rnn;        /* DY_LSTM */
  int bidirectional;      /* 1 */
  uint32_t layers;        /* 1 */
  uint32_t emb;           /* word embedding, 128 */
  uint32_t hidden;        /* RNN hidden size per direction, 50 */
  uint32_t mlp;           /* MLP hidden size, 32 */
  int chars;              /* 0: char-level word vectors off */
  uint32_t char_emb;      /* 20 */
  uint32_t char_hidden;   /* char BiLSTM per direction, 64 */
  dy_real word_dropout;   /* probability of replacing a training word by UNK, 0 */
  dy_real word_dropout_alpha; /* frequency-aware word dropout (Kiperwasser and
                               * Goldberg 2016): a training word seen c times
                               * becomes UNK with probability alpha / (alpha + c);
                               * needs dy_tagger_set_word_counts; 0 = off */
  dy_real dropout;        /* variational dropout on the word RNN's inputs and
                           * recurrent states (dy_rnn_set_dropout), 0 */
  dy_tagger_init init;    /* DY_TAGGER_INIT_GLOROT */
  const char *name;       /* parameter sub-collection, "tagger" */
} dy_tagger_opts;

/* The seed's BiLSTM tagger: LSTM, bidirectional, 1 layer, 128 / 50 / 32, no
 * chars (char sizes 20 / 64 when turned on), no word dropout, Glorot init. */
dy_tagger_opts dy_tagger_defaults(void);

typedef struct dy_tagger dy_tagger;

/* Adds a tagger's parameters to m (under o->name) for nwords word ids (UNK
 * included) and ntags tags. NULL when a size is 0, an option is out of range,
 * or the model refuses a parameter (dy_model_error(m) says why). */
dy_tagger *dy_tagger_new(dy_model *m, const dy_tagger_opts *o, uint32_t nwords, uint32_t ntags);
/* Frees the tagger (its parameters stay in the model). NULL is allowed. */
void dy_tagger_free(dy_tagger *t);
/* Copies the training counts of the words (dy_vocab_count of ids
 * 0..nwords-1) for frequency-aware word dropout. DY_EARG when the sizes differ. */
dy_status dy_tagger_set_word_counts(dy_tagger *t, const dy_vocab *words);
/* 1 (default): the char BiLSTM reads all words of a sentence that have the
 * same byte length as one batch; 0: word by word. Same values (up to float
 * summation order). */
void dy_tagger_set_char_batch(dy_tagger *t, int on);
/* The options, model and sizes the tagger was made with. */
const dy_tagger_opts *dy_tagger_get_opts(const dy_tagger *t);
dy_model *dy_tagger_model(const dy_tagger *t);
uint32_t dy_tagger_num_words(const dy_tagger *t);
uint32_t dy_tagger_num_tags(const dy_tagger *t);

/* One sentence. */
typedef struct dy_tagger_sent {
  uint32_t n;               /* words (0 allowed) */
  const uint32_t *words;    /* n word ids (< nwords; 0 = UNK) */
  const uint32_t *tags;     /* n gold tag ids (< ntags), or NULL when unknown */
  const char *const *forms; /* n NUL-terminated UTF-8 forms, or NULL (needed by chars) */
} dy_tagger_sent;

/* Sentence i of c (i < c->nsent); forms: room for dy_corpus_len(c, i)
 * pointers, filled with the forms when c keeps them (else s.forms is NULL);
 * forms may be NULL when no char path is used. */
dy_tagger_sent dy_tagger_corpus_sent(const dy_corpus *c, size_t i, const char **forms);

/* Tag scores of every word, one batch element per word: {ntags} batch n.
 * Invalid (graph error) when n is 0. */
dy_expr dy_tagger_scores(dy_tagger *t, dy_graph *g, const dy_tagger_sent *s);
/* The sentence loss sum_i -log softmax(s_i)[tags_i] {1} (needs s->tags); a
 * constant 0 for an empty sentence. Word dropout applies in training mode. */
dy_expr dy_tagger_loss(dy_tagger *t, dy_graph *g, const dy_tagger_sent *s);
/* Writes the best tag of each word to out[0..n) (builds into g in test mode,
 * restoring g's mode; the caller renews g). DY_OK, or the graph's error. */
dy_status dy_tagger_predict(dy_tagger *t, dy_graph *g, const dy_tagger_sent *s, uint32_t *out);

/* Figures of a training epoch or an evaluation. Unknown words are the tokens
 * whose word id is DY_TAGGER_UNK. */
typedef struct dy_tagger_stats {
  size_t sents, words;       /* processed */
  size_t correct;            /* words tagged right (evaluation; training: 0) */
  size_t unk_words, unk_correct;
  double loss;               /* summed sentence losses (training) or dev loss */
  double seconds;            /* wall-clock time */
  double cpu_seconds;        /* CPU time of the process (a shared machine's honest clock) */
  double words_per_sec;      /* words / seconds */
  double acc, unk_acc;       /* correct / words, unk_correct / unk_words (0 if none) */
} dy_tagger_stats;

/* Called after each sentence with the sentences done so far out of total. */
typedef void (*dy_tagger_progress)(void *ctx, size_t done, size_t total, const dy_tagger_stats *sofar);

/* Fills order[0..n) with a permutation of 0..n-1 (Fisher-Yates over a
 * splitmix64 stream of seed): deterministic on every machine. */
void dy_tagger_shuffle(size_t *order, size_t n, uint64_t seed);
/* One epoch of per-sentence updates over corpus c (in order[0..c->nsent), or
 * file order when order is NULL): renew g, loss, backward, dy_trainer_update.
 * g is put in training mode. progress may be NULL. Stops at the first graph
 * or trainer error and returns it (NaN gradients: DY_ENAN). */
dy_status dy_tagger_train_epoch(dy_tagger *t, dy_graph *g, dy_trainer *tr, const dy_corpus *c,
                                const size_t *order, dy_tagger_stats *st,
                                dy_tagger_progress progress, void *ctx);
/* Tags every sentence of c (which must have tags) and counts accuracy,
 * overall and on unknown words; also sums the loss. g ends in test mode. */
dy_status dy_tagger_evaluate(dy_tagger *t, dy_graph *g, const dy_corpus *c, dy_tagger_stats *st);

/* Saves a tagger as files next to each other: path (dy_model_save of the
 * whole model), path.opts (the options, text), path.words and path.tags
 * (dy_vocab_save). DY_OK or an error written to err (up to n bytes). */
dy_status dy_tagger_save(const dy_tagger *t, const dy_vocab *words, const dy_vocab *tags,
                         const char *path, char *err, size_t n);
/* Loads what dy_tagger_save wrote: a new model (*m), the vocabularies
 * (*words, *tags, frozen) and the tagger. NULL on error (err says what);
 * the caller frees the four with dy_tagger_free, dy_model_free, dy_vocab_free. */
dy_tagger *dy_tagger_load(const char *path, dy_model **m, dy_vocab **words, dy_vocab **tags,
                          char *err, size_t n);

#ifdef __cplusplus
}
#endif
#endif
