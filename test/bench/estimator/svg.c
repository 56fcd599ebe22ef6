// SPDX-License-Identifier: MIT
/* The plots (svg.h), written by hand: a few rects, lines, texts and one path per series. */
#include <errno.h>
#include <math.h>

#include "svg.h"

#define PLOT_LEFT   74.0
#define PLOT_RIGHT  (SVG_WIDTH - 16.0)
#define PLOT_TOP    50.0
#define PLOT_BOTTOM (SVG_HEIGHT - 46.0)

/* The plot's scales: x in hours from the first sample, y in MiB or vCPUs. */
struct svg_frame {
	uint64_t t0_ns;
	double span_h;
	double y_max; /* in display units */
	double unit;  /* trace units per display unit */
};

static double svg__x(const struct svg_frame *fr, uint64_t t_ns)
{
	double h = (double)(t_ns - fr->t0_ns) / 3600e9;

	return PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * h / fr->span_h;
}

static double svg__y(const struct svg_frame *fr, uint64_t v)
{
	return PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * ((double)v / fr->unit) / fr->y_max;
}

/* &, <, > and quotes of a title or name, escaped. */
static void svg__text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

/* 1, 2 or 5 times a power of ten, at least @raw. */
static double svg__nice_step(double raw)
{
	double p = pow(10.0, floor(log10(raw))), m = raw / p;

	return (m <= 1.0 ? 1.0 : m <= 2.0 ? 2.0 : m <= 5.0 ? 5.0 : 10.0) * p;
}

/* Hours between x ticks: short decimals, then divisors and multiples of a day; at most 12 ticks. */
static double svg__hour_step(double span_h)
{
	static const double steps[] = { 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1,	2,    3,   6,
					12,   24,   48,	  168, 336,  720, 1440, 2880, 5760 };
	unsigned int i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]) - 1; i++)
		if (span_h / steps[i] <= 12.0)
			break;
	return steps[i];
}

size_t svg__keep(const uint64_t *values, size_t first, size_t end, size_t keep[4])
{
	size_t lo = first, hi = first, i, n = 0, cand[4];

	for (i = first + 1; i < end; i++) {
		if (values[i] < values[lo])
			lo = i;
		if (values[i] > values[hi])
			hi = i;
	}
	cand[0] = first;
	cand[1] = lo < hi ? lo : hi;
	cand[2] = lo < hi ? hi : lo;
	cand[3] = end - 1;
	for (i = 0; i < 4; i++)
		if (!n || cand[i] != keep[n - 1])
			keep[n++] = cand[i];
	return n;
}

/* The column sample @i falls in. */
static size_t svg__column(const struct svg_plot *p, const struct svg_frame *fr, size_t i)
{
	double span = (double)(p->t_ns[p->n - 1] - fr->t0_ns), c;

	if (span <= 0)
		return 0;
	c = floor((double)(p->t_ns[i] - fr->t0_ns) / span * SVG_COLUMNS);
	return c >= SVG_COLUMNS ? SVG_COLUMNS - 1 : (size_t)c;
}

static void svg__series(FILE *f, const struct svg_plot *p, const struct svg_frame *fr,
			const struct svg_series *s)
{
	size_t first = 0, end, keep[4], k, n, i;

	fprintf(f, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"%s%s%s d=\"", s->color,
		s->width, s->dash ? " stroke-dasharray=\"" : "", s->dash ? s->dash : "",
		s->dash ? "\"" : "");
	while (first < p->n) {
		for (end = first + 1; end < p->n; end++)
			if (svg__column(p, fr, end) != svg__column(p, fr, first))
				break;
		n = svg__keep(s->values, first, end, keep);
		for (k = 0; k < n; k++) {
			double x, y;

			i = keep[k];
			x = svg__x(fr, p->t_ns[i]);
			y = svg__y(fr, s->values[i]);
			if (!i)
				fprintf(f, "M%.1f %.1f", x, y);
			else if (s->step)
				fprintf(f, "H%.1fV%.1f", x, y);
			else
				fprintf(f, "L%.1f %.1f", x, y);
		}
		first = end;
	}
	/* An allocation holds to the end of the plot; a lone sample still shows. */
	if (s->step || p->n == 1)
		fprintf(f, "H%.1f", PLOT_RIGHT);
	fputs("\"/>\n", f);
}

static void svg__axes(FILE *f, const struct svg_plot *p, const struct svg_frame *fr)
{
	double step = svg__hour_step(fr->span_h), ystep = svg__nice_step(fr->y_max / 6.0), v;
	const char *ylabel = p->kind == EV_KIND_MEMORY ? "memory (MiB)" : "CPU (vCPUs)";

	fputs("<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n", f);
	for (v = 0; v <= fr->y_max + 1e-9; v += ystep) {
		double y = PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * v / fr->y_max;

		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", PLOT_LEFT,
			y, PLOT_RIGHT, y);
	}
	for (v = 0; v <= fr->span_h + 1e-9; v += step) {
		double x = PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * v / fr->span_h;

		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x, PLOT_TOP,
			x, PLOT_BOTTOM);
	}
	fputs("</g>\n<g font-family=\"sans-serif\" font-size=\"11\" fill=\"#333\">\n", f);
	for (v = 0; v <= fr->y_max + 1e-9; v += ystep)
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
			PLOT_LEFT - 6, PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * v / fr->y_max + 4,
			v);
	for (v = 0; v <= fr->span_h + 1e-9; v += step)
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
			PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * v / fr->span_h, PLOT_BOTTOM + 16,
			round(v * 100) / 100);
	fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">time (hours)</text>\n",
		(PLOT_LEFT + PLOT_RIGHT) / 2, SVG_HEIGHT - 8);
	fprintf(f,
		"<text transform=\"translate(16 %.1f) rotate(-90)\" "
		"text-anchor=\"middle\">%s</text>\n",
		(PLOT_TOP + PLOT_BOTTOM) / 2, ylabel);
	fputs("</g>\n", f);
	fprintf(f,
		"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
		"stroke=\"#888\"/>\n",
		PLOT_LEFT, PLOT_TOP, PLOT_RIGHT - PLOT_LEFT, PLOT_BOTTOM - PLOT_TOP);
}

static void svg__legend(FILE *f, const struct svg_plot *p)
{
	double x = PLOT_LEFT;
	size_t k;

	fputs("<g font-family=\"sans-serif\" font-size=\"11\" fill=\"#222\">\n", f);
	for (k = 0; k < p->nr_series; k++) {
		const struct svg_series *s = &p->series[p->legend_order ? p->legend_order[k] : k];
		const char *c;
		size_t len = 0;

		fprintf(f,
			"<line x1=\"%.1f\" y1=\"38\" x2=\"%.1f\" y2=\"38\" stroke=\"%s\" "
			"stroke-width=\"%.1f\"%s%s%s/>\n",
			x, x + 22, s->color, s->width < 2 ? 2.0 : s->width,
			s->dash ? " stroke-dasharray=\"" : "", s->dash ? s->dash : "",
			s->dash ? "\"" : "");
		fprintf(f, "<text x=\"%.1f\" y=\"42\">", x + 27);
		svg__text(f, s->name);
		fputs("</text>\n", f);
		for (c = s->name; *c; c++)
			len++;
		x += 27 + 6.5 * (double)len + 18; /* about 6.5 px a character at 11 px */
	}
	fputs("</g>\n", f);
}

int svg__write(FILE *f, const struct svg_plot *p)
{
	struct svg_frame fr = { 0 };
	uint64_t top = 0;
	size_t s, i;

	if (!p->n)
		return -EINVAL;
	fr.t0_ns = p->t_ns[0];
	fr.span_h = (double)(p->t_ns[p->n - 1] - p->t_ns[0]) / 3600e9;
	if (fr.span_h <= 0)
		fr.span_h = 1.0 / 60; /* a lone sample: one minute wide */
	fr.unit = p->kind == EV_KIND_MEMORY ? (double)EV_MIB : 1000.0;
	for (s = 0; s < p->nr_series; s++)
		for (i = 0; i < p->n; i++)
			if (p->series[s].values[i] > top)
				top = p->series[s].values[i];
	/* Some room above the highest line, rounded up to a whole y tick. */
	fr.y_max = (double)top / fr.unit * 1.08;
	if (fr.y_max < 1)
		fr.y_max = 1;
	fr.y_max = ceil(fr.y_max / svg__nice_step(fr.y_max / 6.0)) * svg__nice_step(fr.y_max / 6.0);

	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\">\n",
		SVG_WIDTH, SVG_HEIGHT, SVG_WIDTH, SVG_HEIGHT);
	fprintf(f, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", SVG_WIDTH, SVG_HEIGHT);
	fprintf(f,
		"<text x=\"%.1f\" y=\"20\" font-family=\"sans-serif\" font-size=\"14\" "
		"font-weight=\"bold\" fill=\"#111\">",
		PLOT_LEFT);
	svg__text(f, p->title);
	fputs("</text>\n", f);
	svg__legend(f, p);
	svg__axes(f, p, &fr);
	fprintf(f,
		"<clipPath id=\"plot\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		"height=\"%.1f\"/></clipPath>\n<g clip-path=\"url(#plot)\" "
		"stroke-linejoin=\"round\">\n",
		PLOT_LEFT, PLOT_TOP - 2, PLOT_RIGHT - PLOT_LEFT, PLOT_BOTTOM - PLOT_TOP + 4);
	for (s = 0; s < p->nr_series; s++)
		svg__series(f, p, &fr, &p->series[s]);
	fputs("</g>\n</svg>\n", f);
	return ferror(f) ? -EIO : 0;
}
