/* SPDX-License-Identifier: MIT */
/*
 * The host side of the serial console: the terminal (raw mode, restored on
 * every way out), a file, or nothing. Input is fed to the UART from the
 * event loop; output arrives from vCPU threads.
 */
#ifndef ACCORD_CONSOLE_H
#define ACCORD_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>
#include <termios.h>

#include "accord/cli.h"
#include "accord/eventloop.h"
#include "accord/log.h"
#include "accord/stop.h"

#define CONSOLE_ESCAPE 0x01 /* Ctrl-a */

/* Where terminal input goes: the UART, or a User-mode Linux console pipe. */
struct console_sink {
	/* Returns the bytes taken; fewer than @len means input was lost. */
	unsigned int (*input)(void *ctx, const uint8_t *buf, unsigned int len);
	void *ctx;
};

struct console {
	enum console_mode mode;
	int in_fd;  /* -1: no input */
	int out_fd; /* -1: output discarded */
	bool owns_out_fd;
	bool raw;
	bool escape_pending;
	bool output_failed;
	struct termios saved;
	struct console_sink sink;
	struct stop_sink *stop;
	const struct acc_log *log;
	struct event_loop *el;
	struct event_handler input;
};

int console__open(struct console *c, enum console_mode mode, const char *path,
		  const struct acc_log *log, struct acc_err *err);
/* Start feeding terminal input to @sink; Ctrl-a x asks @stop to end the VM. */
int console__attach(struct console *c, struct event_loop *el, const struct console_sink *sink,
		    struct stop_sink *stop);
void console__close(struct console *c);
/* Guest output to the console (a uart_backend output callback); @ctx is the console. */
void console__output(void *ctx, const uint8_t *buf, unsigned int len);
/*
 * Process terminal input bytes: escapes are acted on, the rest is written to
 * @out; returns the number of bytes for the guest. Pure apart from @c's state.
 */
unsigned int console__filter_input(struct console *c, const uint8_t *in, unsigned int len,
				   uint8_t *out);

#endif
