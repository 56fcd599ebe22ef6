/* SPDX-License-Identifier: MIT */
/*
 * Demand against allocations over time as a 900x360 SVG on white: hours on
 * x, MiB or vCPUs on y, a legend, one path per series. A series keeps at
 * most four samples in each of SVG_COLUMNS columns (the column's first,
 * lowest, highest and last, in time order), so peaks survive and no path
 * has more than about 2000 points.
 */
#ifndef ACCORD_ESTIMATOR_EVAL_SVG_H
#define ACCORD_ESTIMATOR_EVAL_SVG_H

#include <stdio.h>

#include "eval.h"

#define SVG_WIDTH   900
#define SVG_HEIGHT  360
#define SVG_COLUMNS 500

struct svg_series {
	const char *name;
	const char *color;
	const char *dash; /* stroke-dasharray, or NULL */
	double width;
	bool step; /* an allocation: held until the next sample */
	const uint64_t *values;
};

struct svg_plot {
	const char *title;
	enum ev_kind kind;
	size_t n;
	const uint64_t *t_ns;
	size_t nr_series;
	const struct svg_series *series; /* drawn in order; the legend follows legend_order */
	const size_t *legend_order;	 /* nr_series indices, or NULL for drawing order */
};

/* The sample indices kept for one column range [first, end): at most 4, in time order. */
size_t svg__keep(const uint64_t *values, size_t first, size_t end, size_t keep[4]);

int svg__write(FILE *f, const struct svg_plot *p);

#endif /* ACCORD_ESTIMATOR_EVAL_SVG_H */
