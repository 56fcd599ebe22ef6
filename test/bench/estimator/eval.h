/* SPDX-License-Identifier: MIT */
/*
 * estimator-eval: replays demand traces through guest/core's estimator and
 * through baselines, and reports what each policy allocated (docs/estimator-eval.md).
 *
 * This header holds what every part shares: the error line a function fills
 * when it refuses input, the two kinds of demand and their granules, and the
 * limits on untrusted input.
 */
#ifndef ACCORD_ESTIMATOR_EVAL_H
#define ACCORD_ESTIMATOR_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accord/error.h" /* struct acc_err: one line naming what was wrong */

#define EV_MIB	       (1ull << 20)
#define EV_NS_PER_S    1000000000ull
#define EV_NS_PER_MS   1000000ull
#define EV_LINE_MAX    128	    /* characters of one CSV line, without the newline */
#define EV_SAMPLES_MAX (1u << 21)   /* 24 days at 1 s, 243 days at 10 s */
#define EV_VALUE_MAX   (1ull << 48) /* guest/core's RC_EST_VALUE_MAX */
#define EV_TIME_MAX_NS (1ull << 62) /* about 146 years */

enum ev_kind {
	EV_KIND_MEMORY, /* bytes */
	EV_KIND_CPU,	/* milli-vCPUs */
};

const char *ev_kind_name(enum ev_kind kind);   /* "memory", "cpu" */
const char *ev_kind_column(enum ev_kind kind); /* the CSV column: "memory_bytes", "cpu_milli" */
int ev_kind_parse(const char *s, enum ev_kind *kind);

/* Every policy allocates whole granules: 2 MiB of memory (the device's mem_granule), one vCPU. */
uint64_t ev_granule(enum ev_kind kind);

/* @v rounded up to the granule, and never less than one granule (a VM keeps one vCPU, one granule).
 */
uint64_t ev_round_up(enum ev_kind kind, uint64_t v);

#endif /* ACCORD_ESTIMATOR_EVAL_H */
