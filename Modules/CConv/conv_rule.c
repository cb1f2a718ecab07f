/*
 * The rule algorithm (IPR_CONV_RULE, the default; contract in include/conv_dnnl.h).
 *
 * Why a rule: a seeded run must give the same bytes every time on a CPU, so
 * the algorithm of a convolution (hence the order of its sums) may depend on
 * the shape and on what this CPU's oneDNN can run, never on a timing. The
 * measured algorithm (conv_measured.c) decided by timing, and under load its
 * choices, and so the trained weights, changed between runs.
 *
 * What the rule is: oneDNN's own choice (auto: a heuristic of the shape and
 * the ISA, no timing) with the two corrections that timing found on the CPUs
 * measured (`iprbench convalgo`, BENCHMARKS.md):
 *   - forward with fewer than IPR_CONV_RULE_MIN_WINOGRAD_CHANNELS input
 *     channels runs direct: auto runs ResNet-18's 3->64 stem as Winograd on a
 *     Zen 5 EPYC, 3.7x slower than direct (1.23 vs 4.50 ms at batch 64); with
 *     3 input channels Winograd's input and output transforms outweigh the
 *     products they save.
 *   - backward weights of a 3x3 stride-1 layer with enough channels and at
 *     least 16 samples runs Winograd where oneDNN has one: auto stays direct
 *     for 128->128 16x16 on Zen 5, where Winograd is 1.5x faster (7.47 vs
 *     11.23 ms), and takes Winograd on the other layers and on Intel anyway.
 * Everything else is auto. Where oneDNN has no Winograd (an AVX2 CPU, or any
 * layer but 3x3 stride 1) the rule is auto everywhere, as measured was.
 */
#include "conv_internal.h"

#include <dnnl.h>
#include <string.h>

/* Batch below which oneDNN itself never picks Winograd (chunks keep at least
 * this many samples, conv_dnnl.c MIN_CHUNK). */
#define RULE_MIN_WINOGRAD_BATCH 16

int ipr_conv_rule(const ipr_conv_shape *s, int pass, int winograd_available) {
    if (!s) return -1;
    int three_by_three = s->kh == 3 && s->kw == 3 && s->stride_h == 1 && s->stride_w == 1;
    if (pass == PASS_FWD && s->c < IPR_CONV_RULE_MIN_WINOGRAD_CHANNELS) return IPR_CONV_DIRECT;
    if (pass == PASS_BWD_WEIGHTS && three_by_three && winograd_available
        && s->c >= IPR_CONV_RULE_MIN_WINOGRAD_CHANNELS && s->n >= RULE_MIN_WINOGRAD_BATCH)
        return IPR_CONV_WINOGRAD;
    return IPR_CONV_AUTO;
}

/* Decisions are remembered per (shape, pass, bias) so that the availability of
 * Winograd is asked once; a forgotten one (table full) is decided again, the
 * same way. */
#define DECISION_CAPACITY 512

typedef struct {
    int key[KEY_LEN]; /* algorithm field: IPR_CONV_RULE */
    int algo;
} rule_decision;

static rule_decision g_decisions[DECISION_CAPACITY];
static int g_decision_count = 0, g_decision_next = 0;

int ipr_conv_rule_decide_locked(const ipr_conv_shape *s, int pass, int has_bias) {
    int key[KEY_LEN];
    ipr_conv_make_key(s, pass, IPR_CONV_RULE, has_bias, key);
    for (int i = 0; i < g_decision_count; ++i)
        if (memcmp(g_decisions[i].key, key, sizeof(key)) == 0) return g_decisions[i].algo;
    /* Only a Winograd candidate needs the question asked (a primitive made). */
    int algo = ipr_conv_rule(s, pass, 1);
    if (algo == IPR_CONV_WINOGRAD) {
        char name[256];
        if (ipr_conv_impl_locked(s, pass, IPR_CONV_WINOGRAD, has_bias, name, sizeof(name)) != dnnl_success)
            algo = ipr_conv_rule(s, pass, 0);
    }
    rule_decision *d = &g_decisions[g_decision_next];
    memcpy(d->key, key, sizeof(key));
    d->algo = algo;
    g_decision_next = (g_decision_next + 1) % DECISION_CAPACITY;
    if (g_decision_count < DECISION_CAPACITY) ++g_decision_count;
    return algo;
}

void ipr_conv_rule_forget_locked(void) {
    g_decision_count = 0;
    g_decision_next = 0;
}
