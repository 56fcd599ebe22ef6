/* SPDX-License-Identifier: MIT */
/*
 * `accord top`: a live view of every VM registered on a broker. It polls the
 * broker's operator commands (query-vms, query-ledger, query-requests) over
 * its socket and draws one frame per interval: the pool, a row per VM and
 * the latest decisions. docs/top.md describes it.
 */
#ifndef ACCORD_TOP_H
#define ACCORD_TOP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

struct json_object;

/* Exit statuses of `accord top`. */
#define TOP_EXIT_OK	0
#define TOP_EXIT_FAILED 2 /* usage, no broker, the broker gone, a broken reply */

#define TOP_INTERVAL_MS 1000 /* --interval's default */
#define TOP_REQUESTS	8    /* decisions shown */

/* What one poll of the broker returned (each a reference the holder puts). */
struct top_data {
	struct json_object *vms;      /* query-vms: an array */
	struct json_object *ledger;   /* query-ledger: an object */
	struct json_object *requests; /* query-requests: an array, newest last */
};

/*
 * `accord top` itself: @argv holds the @argc words after "top". Draws on
 * @out (a live view if it is a terminal, else one plain frame), complains on
 * @err_out; returns the exit status (TOP_EXIT_*), never exits.
 */
int top__main(int argc, char **argv, FILE *out, FILE *err_out);

/*
 * One frame as plain text, a '\n' after every line, no escape codes: the
 * header for @socket at wall-clock time @now, a row per VM, the decisions.
 * Text from the broker is printed with control and non-ASCII bytes as '?'.
 * 0 or a negative errno (-EPROTO: @d is not shaped as the broker's replies).
 */
int top__render(FILE *f, const char *socket, const struct top_data *d, time_t now);

/*
 * Paint @text (lines ending in '\n', as top__render writes) on a terminal of
 * @cols x @rows from its top left: each line cut to @cols and cleared to its
 * end, lines past @rows left out, the rest of the screen cleared.
 */
void top__paint(FILE *out, const char *text, unsigned int cols, unsigned int rows);

/* @bytes for people: "0", "512 B", "64 MiB", "1.5 GiB". */
void top__size(uint64_t bytes, char *buf, size_t len);

#endif
