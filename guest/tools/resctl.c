// SPDX-License-Identifier: MIT
/*
 * resctl: the command line of /dev/virtio-resource (virtio_resource.ko's
 * device node, include/uapi/linux/virtio_resource_dev.h). Linked
 * statically so that it runs in a busybox initramfs. README.md and
 * `resctl --help` describe the commands.
 *
 * Copyright (c) 2026 The accord developers
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_resource_dev.h>

#include "parse_size.h"

/* Exit statuses. */
enum {
	EX_GRANTED = 0, /* granted, accepted, or the command worked */
	EX_ERROR = 1,	/* the device or the host refused, or a system error */
	EX_USAGE = 2,
	EX_DENIED = 3,
	EX_OFFERED = 4, /* an offer that waits for accept or decline */
	EX_PENDING = 5, /* no answer yet */
};

#define READ_CHUNK VIRTIO_RESOURCE_MAX_READ

static const char *progname = "resctl";
static const char *device_path = "/dev/" VIRTIO_RESOURCE_DEV_NAME;

static const char usage_text[] =
	"usage: resctl [-d DEVICE] COMMAND [ARGS]\n"
	"\n"
	"Talks to the host through /dev/virtio-resource (virtio_resource.ko).\n"
	"\n"
	"commands:\n"
	"  info                      the device, the allocation and the host\n"
	"  request memory SIZE [OPTIONS]\n"
	"  request vcpus N [OPTIONS] ask the host for more; prints GRANT, DENY or OFFER\n"
	"      --min AMOUNT          the least that helps (default: the amount)\n"
	"      --urgency U           low, normal (default), high or critical\n"
	"      --latency L           batch, interactive (default) or realtime\n"
	"      --deadline TIME       an answer later than this is useless (default: none)\n"
	"      --duration TIME       how long it is needed (default: indefinitely)\n"
	"      --projected AMOUNT    the forecast demand (default: the grant + the amount)\n"
	"      --timeout TIME        the longest wait for the answer (default 30s)\n"
	"      --nonblock            submit at once, then wait for the answer with poll()\n"
	"      --accept              accept an offer whole at once\n"
	"      --hold TIME           keep the device open this long after the answer\n"
	"      --release-on-close    release the agreement when resctl closes the device\n"
	"  accept ID [--choices MASK] accept an offer (default: every part offered)\n"
	"  decline ID                decline an offer\n"
	"  release ID [AMOUNT]       give an agreement back (default: all of it)\n"
	"  query ID                  one request's state\n"
	"  table                     the request table\n"
	"  bench [--count N] [--kind memory|vcpus] [--amount AMOUNT] [--min AMOUNT]\n"
	"                            time N requests (default 200) of AMOUNT (default: one\n"
	"                            granule, or one vcpu) from the call to the answer, each\n"
	"                            grant released and each offer declined untimed; prints\n"
	"                            one line: \"resctl bench: N requests, latency us min A\n"
	"                            p50 B p90 C p99 D max E, grants G denials H offers O\"\n"
	"  send [--to VM] TEXT...    send the words, joined by spaces, to the host, or\n"
	"                            through the host's broker to the VM named VM\n"
	"  recv [--wait] [--timeout TIME]  print the messages, one per line (another\n"
	"                            VM's start with \"from NAME: \")\n"
	"  cat FILE                  copy FILE from the host's shared directory to stdout\n"
	"\n"
	"SIZE: bytes, or with K, M, G, T (powers of 1024): 64M, 1G. TIME: milliseconds,\n"
	"or with ms, s, m: 500ms, 2s. DEVICE: default /dev/virtio-resource.\n"
	"\n"
	"exit status: 0 granted (or done), 1 error, 2 usage, 3 denied, 4 offered,\n"
	"5 no answer yet\n";

static void usage(FILE *f)
{
	fputs(usage_text, f);
}

static void __attribute__((format(printf, 1, 2), noreturn)) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (resctl --help)\n");
	exit(EX_USAGE);
}

static void __attribute__((format(printf, 1, 2), noreturn)) fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EX_ERROR);
}

/* ---- parsing ---- */

/* "500", "500ms", "2s", "1m": milliseconds, at most UINT32_MAX. */
static bool parse_ms(const char *s, uint32_t *out)
{
	unsigned long long v, mul = 1;
	char *end;

	if (!*s || *s == '-' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	if (!strcmp(end, "s"))
		mul = 1000;
	else if (!strcmp(end, "m") || !strcmp(end, "min"))
		mul = 60000;
	else if (*end && strcmp(end, "ms"))
		return false;
	if (v > UINT32_MAX / mul)
		return false;
	*out = (uint32_t)(v * mul);
	return true;
}

static __u64 parse_id(const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || !v || *s == '-')
		usage_error("'%s' is not a request id", s);
	return v;
}

static int parse_word(const char *s, const char *const *words, int n, const char *what)
{
	int i;

	for (i = 0; i < n; i++) {
		if (!strcasecmp(s, words[i]))
			return i;
	}
	usage_error("unknown %s '%s'", what, s);
}

/* "memory" or "vcpus" (also "mem", "vcpu"): VIRTIO_RESOURCE_K_*. */
static uint16_t parse_kind(const char *s)
{
	if (!strcmp(s, "memory") || !strcmp(s, "mem"))
		return VIRTIO_RESOURCE_K_MEMORY;
	if (!strcmp(s, "vcpus") || !strcmp(s, "vcpu"))
		return VIRTIO_RESOURCE_K_VCPU;
	usage_error("unknown kind '%s' (memory or vcpus)", s);
}

/* An amount of @kind: a count of vCPUs, otherwise a SIZE (0 passes: callers check). */
static bool parse_amount(uint16_t kind, const char *s, __u64 *out)
{
	unsigned long long v;
	char *end;

	if (kind != VIRTIO_RESOURCE_K_VCPU)
		return parse_size(s, out);
	if (!*s || *s == '-')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

/* ---- names ---- */

static const char *const urgency_names[] = { "low", "normal", "high", "critical" };
static const char *const latency_names[] = { "batch", "interactive", "realtime" };

static const char *kind_name(uint16_t kind)
{
	switch (kind) {
	case VIRTIO_RESOURCE_K_MEMORY:
		return "memory";
	case VIRTIO_RESOURCE_K_VCPU:
		return "vcpus";
	default:
		return "?";
	}
}

static const char *state_name(uint32_t state)
{
	static const char *const names[] = {
		[VIRTIO_RESOURCE_DEV_S_PENDING] = "pending",
		[VIRTIO_RESOURCE_DEV_S_GRANTED] = "granted",
		[VIRTIO_RESOURCE_DEV_S_DENIED] = "denied",
		[VIRTIO_RESOURCE_DEV_S_OFFERED] = "offered",
		[VIRTIO_RESOURCE_DEV_S_ACCEPTED] = "accepted",
		[VIRTIO_RESOURCE_DEV_S_DECLINED] = "declined",
		[VIRTIO_RESOURCE_DEV_S_RELEASED] = "released",
		[VIRTIO_RESOURCE_DEV_S_EXPIRED] = "expired",
		[VIRTIO_RESOURCE_DEV_S_RECLAIMED] = "reclaimed",
		[VIRTIO_RESOURCE_DEV_S_RENEGOTIATING] = "renegotiating",
		[VIRTIO_RESOURCE_DEV_S_FAILED] = "failed",
	};

	if (state < sizeof(names) / sizeof(names[0]) && names[state])
		return names[state];
	return "?";
}

static const char *answer_name(uint16_t type)
{
	switch (type) {
	case 0:
		return "-";
	case VIRTIO_RESOURCE_A_ACK:
		return "ACK";
	case VIRTIO_RESOURCE_A_GRANT:
		return "GRANT";
	case VIRTIO_RESOURCE_A_DENY:
		return "DENY";
	case VIRTIO_RESOURCE_A_OFFER:
		return "OFFER";
	case VIRTIO_RESOURCE_A_ERROR:
		return "ERROR";
	case VIRTIO_RESOURCE_EV_GRANT:
		return "EV_GRANT";
	default:
		return "?";
	}
}

static const char *status_name(uint32_t status)
{
	static const char *const names[] = { "OK",    "MALFORMED", "ORDER",   "UNSUPPORTED",
					     "NOENT", "FORBIDDEN", "TOO_BIG", "BUSY",
					     "IO",    "RANGE" };

	return status < sizeof(names) / sizeof(names[0]) ? names[status] : "?";
}

static const char *deny_reason(uint16_t reason)
{
	switch (reason) {
	case VIRTIO_RESOURCE_D_ABOVE_MAX:
		return "above the VM's maximum";
	case VIRTIO_RESOURCE_D_HOST_LIMIT:
		return "the host has no more";
	case VIRTIO_RESOURCE_D_POLICY:
		return "the host's policy";
	case VIRTIO_RESOURCE_D_RATE:
		return "asked too often";
	case VIRTIO_RESOURCE_D_UNSUPPORTED:
		return "not negotiable";
	default:
		return "no reason given";
	}
}

/* An amount of @kind for people: "64 MiB", "23.5 GiB", "3 vcpus". */
static const char *amount_str(char *buf, size_t cap, uint16_t kind, __u64 v)
{
	static const char *const units[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
	unsigned int u = 0;

	if (kind == VIRTIO_RESOURCE_K_VCPU) {
		snprintf(buf, cap, "%llu vcpu%s", v, v == 1 ? "" : "s");
		return buf;
	}
	/* The largest unit that fits; whole when exact, else one decimal. */
	while (u + 1 < sizeof(units) / sizeof(units[0]) && (v >> (10 * (u + 1))))
		u++;
	if (!(v & ((1ULL << (10 * u)) - 1)))
		snprintf(buf, cap, "%llu %s", v >> (10 * u), units[u]);
	else
		snprintf(buf, cap, "%.1f %s", (double)v / (double)(1ULL << (10 * u)), units[u]);
	return buf;
}

/* ---- the device ---- */

static int dev_open(int flags)
{
	int fd = open(device_path, O_RDWR | O_CLOEXEC | flags);

	if (fd < 0) {
		if (errno == ENOENT)
			fail("%s: no such device (is virtio_resource.ko loaded?)", device_path);
		fail("%s: %s", device_path, strerror(errno));
	}
	return fd;
}

/* The error of a call that failed, with the host's status when it gave one. */
static void __attribute__((noreturn))
fail_call(const char *what, int err, const struct virtio_resource_dev_answer *a)
{
	if (a && a->type == VIRTIO_RESOURCE_A_ERROR)
		fail("%s: %s (host: %s)", what, strerror(err), status_name(a->status));
	fail("%s: %s", what, strerror(err));
}

/* Print an answer; returns the exit status it stands for. */
static int print_answer(const char *what, uint16_t kind, const struct virtio_resource_dev_answer *a)
{
	char b1[32], b2[32], b3[32];

	switch (a->state) {
	case VIRTIO_RESOURCE_DEV_S_GRANTED:
	case VIRTIO_RESOURCE_DEV_S_ACCEPTED:
		printf("%s id %llu: %s of %s (allocation %s)\n",
		       a->state == VIRTIO_RESOURCE_DEV_S_GRANTED ? "GRANT" : "ACCEPTED", a->id,
		       amount_str(b1, sizeof(b1), kind, a->granted), kind_name(kind),
		       amount_str(b2, sizeof(b2), kind, a->allocation));
		return EX_GRANTED;
	case VIRTIO_RESOURCE_DEV_S_DENIED:
		printf("DENY id %llu: %s", a->id, deny_reason(a->reason));
		if (a->retry_after_ms)
			printf(", retry after %u ms", a->retry_after_ms);
		printf(" (allocation %s)\n", amount_str(b1, sizeof(b1), kind, a->allocation));
		return EX_DENIED;
	case VIRTIO_RESOURCE_DEV_S_OFFERED:
		printf("OFFER id %llu: %s now", a->id,
		       amount_str(b1, sizeof(b1), kind, a->part_now));
		if (a->rest_later)
			printf(", %s later (in %u ms)",
			       amount_str(b2, sizeof(b2), kind, a->rest_later), a->rest_delay_ms);
		printf("; offer %u stands %u ms: resctl accept|decline %llu\n", a->offer_id,
		       a->offer_expires_ms, a->id);
		return EX_OFFERED;
	case VIRTIO_RESOURCE_DEV_S_PENDING:
		printf("PENDING id %llu\n", a->id);
		return EX_PENDING;
	case VIRTIO_RESOURCE_DEV_S_FAILED:
		printf("FAILED id %llu: %s", a->id, strerror(-a->error));
		if (a->type == VIRTIO_RESOURCE_A_ERROR)
			printf(" (host: %s)", status_name(a->status));
		printf("\n");
		return EX_ERROR;
	default:
		printf("%s id %llu: %s, %s of %s\n", what, a->id, state_name(a->state),
		       amount_str(b3, sizeof(b3), kind, a->granted), kind_name(kind));
		return EX_GRANTED;
	}
}

static void print_record_answer(const struct virtio_resource_dev_answer *a)
{
	printf("answer id %llu: %s, last %s, granted %llu%s%s\n", a->id, state_name(a->state),
	       answer_name(a->type), a->granted, a->error ? ", " : "",
	       a->error ? strerror(-a->error) : "");
}

/* One read() record; *answer gets an answer record's content. */
static ssize_t read_record(int fd, void *buf, size_t cap)
{
	ssize_t n = read(fd, buf, cap);

	if (n < 0 && errno != EAGAIN && errno != EINTR)
		fail("read %s: %s", device_path, strerror(errno));
	if (n >= 0 && (size_t)n < sizeof(struct virtio_resource_dev_event))
		fail("read %s: a short record (%zd bytes)", device_path, n);
	return n;
}

/* Printable text as it is, anything else escaped. */
static void print_payload(const uint8_t *p, uint32_t len);

/* A message; another VM's starts with its name and a NUL (VIRTIO_RESOURCE_DEST_NAMED). */
static void print_message(uint32_t source, const uint8_t *p, uint32_t len)
{
	const uint8_t *nul = source ? memchr(p, '\0', len) : NULL;

	if (nul) {
		printf("from %.*s: ", (int)(nul - p), (const char *)p);
		len -= (uint32_t)(nul + 1 - p);
		p = nul + 1;
	}
	print_payload(p, len);
}

static void print_payload(const uint8_t *p, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++) {
		if (isprint(p[i]) || p[i] == '\t')
			putchar(p[i]);
		else if (p[i] == '\n' && i + 1 == len)
			; /* the line ends below */
		else
			printf("\\x%02x", p[i]);
	}
	putchar('\n');
}

/* Wait for the answer to @id with poll() and read(); returns it in @out. */
static int wait_answer(int fd, __u64 id, uint32_t timeout_ms,
		       struct virtio_resource_dev_answer *out)
{
	union {
		struct virtio_resource_dev_event ev;
		uint8_t bytes[VIRTIO_RESOURCE_DEV_EVENT_MAX];
	} rec;
	struct timespec t0, t;
	long elapsed;
	ssize_t n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		clock_gettime(CLOCK_MONOTONIC, &t);
		elapsed = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (elapsed >= (long)timeout_ms)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(timeout_ms - elapsed)) < 0) {
			if (errno == EINTR)
				continue;
			fail("poll %s: %s", device_path, strerror(errno));
		}
		if (p.revents & (POLLERR | POLLHUP))
			return -ENODEV;
		if (!(p.revents & POLLIN))
			continue;
		n = read_record(fd, &rec, sizeof(rec));
		if (n < 0)
			continue;
		if (rec.ev.type == VIRTIO_RESOURCE_DEV_EV_ANSWER && rec.ev.answer.id == id) {
			*out = rec.ev.answer;
			return out->error;
		}
		if (rec.ev.type == VIRTIO_RESOURCE_DEV_EV_MESSAGE) {
			printf("message: ");
			print_message(rec.ev.message.source, rec.bytes + sizeof(rec.ev),
				      rec.ev.message.len);
		}
	}
}

static void sleep_ms(uint32_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * REQUEST on @fd: 0 with the answer in r->answer; -EINTR or -ETIMEDOUT when
 * the call turned into a pending one (r->answer.id is set); another negative
 * errno when the request failed (r->answer.state FAILED says why). Any other
 * failure ends resctl.
 */
static int request_call(int fd, struct virtio_resource_dev_request *r)
{
	int err;

	if (!ioctl(fd, VIRTIO_RESOURCE_DEV_IOC_REQUEST, r))
		return 0;
	err = errno;
	if ((err == EINTR || err == ETIMEDOUT) && r->answer.id)
		return -err;
	if (r->answer.id && r->answer.state == VIRTIO_RESOURCE_DEV_S_FAILED)
		return -err;
	fail_call("request", err, NULL);
}

/*
 * ACCEPT, DECLINE or RELEASE (@cmd, named @what) of o->id on @fd: 0 with the
 * answer in o->answer, or -EINTR / -ETIMEDOUT when the call turned into a
 * pending one. Any other failure ends resctl; @before (the request as it was)
 * explains a refusal.
 */
static int op_call(int fd, unsigned long cmd, const char *what, struct virtio_resource_dev_op *o,
		   const struct virtio_resource_dev_answer *before)
{
	int err;

	if (!ioctl(fd, cmd, o))
		return 0;
	err = errno;
	if ((err == EINTR || err == ETIMEDOUT) && o->answer.id)
		return -err;
	if (err == EINVAL && !o->answer.id) {
		char b[32];

		fail("%s %llu: not possible (state %s, %s held)%s", what, o->id,
		     state_name(before->state),
		     amount_str(b, sizeof(b), before->kind, before->granted),
		     cmd == VIRTIO_RESOURCE_DEV_IOC_RELEASE
			     ? ": release at most what is held, memory in whole granules"
			     : "");
	}
	if (err == EBUSY && !o->answer.id)
		fail("%s %llu: a call about it is under way", what, o->id);
	fail_call(what, err, &o->answer);
}

/* ---- commands ---- */

static int cmd_info(int argc, char **argv)
{
	struct virtio_resource_dev_info in = { .size = sizeof(in) };
	char b1[32], b2[32], b3[32], b4[32];
	int fd;

	(void)argv;
	if (argc != 1)
		usage_error("info takes no arguments");
	fd = dev_open(0);
	if (ioctl(fd, VIRTIO_RESOURCE_DEV_IOC_INFO, &in))
		fail("info: %s", strerror(errno));
	close(fd);
	printf("device: %s (%s), app %u\n", in.device, device_path, in.app_id);
	printf("guest: %u, generation %u%s\n", in.guest_id, in.generation,
	       in.needs_reset ? ", NEEDS RESET" : "");
	printf("memory: %s granted of %s (%s reserved, granule %s)\n",
	       amount_str(b1, sizeof(b1), VIRTIO_RESOURCE_K_MEMORY, in.mem_granted),
	       amount_str(b2, sizeof(b2), VIRTIO_RESOURCE_K_MEMORY, in.mem_max),
	       amount_str(b3, sizeof(b3), VIRTIO_RESOURCE_K_MEMORY, in.mem_reserved),
	       amount_str(b4, sizeof(b4), VIRTIO_RESOURCE_K_MEMORY, in.mem_granule));
	printf("vcpus: %u granted of %u\n", in.vcpus_granted, in.vcpus_max);
	if (in.inventory_valid)
		printf("host: %u cpus (%u online), %s of memory, %u pci devices\n", in.host_cpus,
		       in.host_cpus_online,
		       amount_str(b1, sizeof(b1), VIRTIO_RESOURCE_K_MEMORY, in.host_mem_total),
		       in.host_pci_devices);
	else
		printf("host: no hardware description\n");
	printf("features: 0x%llx%s%s%s%s%s\n", in.features,
	       in.features & (1ULL << VIRTIO_RESOURCE_F_MEMORY) ? " memory" : "",
	       in.features & (1ULL << VIRTIO_RESOURCE_F_VCPU) ? " vcpus" : "",
	       in.features & (1ULL << VIRTIO_RESOURCE_F_STATS) ? " stats" : "",
	       in.features & (1ULL << VIRTIO_RESOURCE_F_MESSAGES) ? " messages" : "",
	       in.features & (1ULL << VIRTIO_RESOURCE_F_FILES) ? " files" : "");
	printf("requests: %u rows, %u agreements\n", in.requests, in.agreements);
	printf("messages: %u waiting, %u dropped\n", in.messages, in.messages_dropped);
	printf("limits: max_message %u, max_outstanding %u\n", in.max_message, in.max_outstanding);
	return EX_GRANTED;
}

static int cmd_request(int argc, char **argv)
{
	enum {
		OPT_MIN = 1,
		OPT_URGENCY,
		OPT_LATENCY,
		OPT_DEADLINE,
		OPT_DURATION,
		OPT_PROJECTED,
		OPT_TIMEOUT,
		OPT_NONBLOCK,
		OPT_ACCEPT,
		OPT_HOLD,
		OPT_RELEASE_ON_CLOSE
	};
	static const struct option opts[] = {
		{ "min", required_argument, NULL, OPT_MIN },
		{ "urgency", required_argument, NULL, OPT_URGENCY },
		{ "latency", required_argument, NULL, OPT_LATENCY },
		{ "deadline", required_argument, NULL, OPT_DEADLINE },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "projected", required_argument, NULL, OPT_PROJECTED },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "nonblock", no_argument, NULL, OPT_NONBLOCK },
		{ "accept", no_argument, NULL, OPT_ACCEPT },
		{ "hold", required_argument, NULL, OPT_HOLD },
		{ "release-on-close", no_argument, NULL, OPT_RELEASE_ON_CLOSE },
		{ NULL, 0, NULL, 0 },
	};
	struct virtio_resource_dev_request r = {
		.size = sizeof(r),
		.urgency = VIRTIO_RESOURCE_U_NORMAL,
		.latency = VIRTIO_RESOURCE_L_INTERACTIVE,
	};
	const char *min_arg = NULL, *projected_arg = NULL;
	uint32_t hold_ms = 0, timeout_ms = 30000;
	bool nonblock = false;
	int c, fd, err, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_MIN:
			min_arg = optarg;
			break;
		case OPT_URGENCY:
			r.urgency = (uint8_t)parse_word(optarg, urgency_names, 4, "urgency");
			break;
		case OPT_LATENCY:
			r.latency = (uint8_t)parse_word(optarg, latency_names, 3, "latency class");
			break;
		case OPT_DEADLINE:
			if (!parse_ms(optarg, &r.deadline_ms))
				usage_error("bad --deadline '%s'", optarg);
			break;
		case OPT_DURATION:
			if (!parse_ms(optarg, &r.duration_ms))
				usage_error("bad --duration '%s'", optarg);
			break;
		case OPT_PROJECTED:
			projected_arg = optarg;
			break;
		case OPT_TIMEOUT:
			if (!parse_ms(optarg, &timeout_ms) || !timeout_ms || timeout_ms > 600000)
				usage_error("bad --timeout '%s' (1ms..600s)", optarg);
			break;
		case OPT_NONBLOCK:
			nonblock = true;
			break;
		case OPT_ACCEPT:
			r.flags |= VIRTIO_RESOURCE_DEV_F_ACCEPT_OFFER;
			break;
		case OPT_HOLD:
			if (!parse_ms(optarg, &hold_ms))
				usage_error("bad --hold '%s'", optarg);
			break;
		case OPT_RELEASE_ON_CLOSE:
			r.flags |= VIRTIO_RESOURCE_DEV_F_RELEASE_ON_CLOSE;
			break;
		default:
			exit(EX_USAGE);
		}
	}
	if (argc - optind != 2)
		usage_error("request KIND AMOUNT: memory SIZE or vcpus N");
	r.kind = parse_kind(argv[optind]);
	if (!parse_amount(r.kind, argv[optind + 1], &r.amount) || !r.amount)
		usage_error("bad %s '%s'",
			    r.kind == VIRTIO_RESOURCE_K_VCPU ? "vcpu count" : "memory size",
			    argv[optind + 1]);
	if (min_arg && !parse_amount(r.kind, min_arg, &r.minimum))
		usage_error("bad --min '%s'", min_arg);
	if (projected_arg && !parse_amount(r.kind, projected_arg, &r.projected))
		usage_error("bad --projected '%s'", projected_arg);
	if (!min_arg)
		r.minimum = r.amount;
	if (r.minimum > r.amount)
		usage_error("--min is more than the amount");
	r.timeout_ms = timeout_ms;
	if (nonblock)
		r.flags |= VIRTIO_RESOURCE_DEV_F_NONBLOCK;

	fd = dev_open(0);
	err = request_call(fd, &r);
	if (err == -EINTR || err == -ETIMEDOUT) {
		printf("PENDING id %llu: %s\n", r.answer.id, strerror(-err));
		return EX_PENDING;
	}
	if (err)
		return print_answer("request", r.kind, &r.answer);
	if (nonblock) {
		printf("PENDING id %llu\n", r.answer.id);
		fflush(stdout);
		err = wait_answer(fd, r.answer.id, timeout_ms, &r.answer);
		if (err == -ETIMEDOUT && r.answer.state == VIRTIO_RESOURCE_DEV_S_PENDING) {
			printf("no answer for id %llu in %u ms\n", r.answer.id, timeout_ms);
			return EX_PENDING;
		}
		if (err == -ENODEV)
			fail("request: the device went away");
	}
	ret = print_answer("request", r.kind, &r.answer);
	fflush(stdout);
	if (hold_ms)
		sleep_ms(hold_ms);
	close(fd);
	return ret;
}

/* ACCEPT, DECLINE, RELEASE, QUERY. */
static int cmd_op(int argc, char **argv, unsigned long cmd, const char *what)
{
	static const struct option opts[] = {
		{ "choices", required_argument, NULL, 'c' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct virtio_resource_dev_op q = { .size = sizeof(q) };
	struct virtio_resource_dev_op o = { .size = sizeof(o) };
	int c, fd, err, nargs = cmd == VIRTIO_RESOURCE_DEV_IOC_RELEASE ? 2 : 1;
	const char *amount = NULL;
	char *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (cmd != VIRTIO_RESOURCE_DEV_IOC_ACCEPT)
				usage_error("--choices is for accept");
			errno = 0;
			o.choices = (uint32_t)strtoul(optarg, &end, 0);
			if (errno || *end || !o.choices || o.choices > 15)
				usage_error("bad --choices '%s' (a mask, 1..15)", optarg);
			break;
		case 't':
			if (cmd == VIRTIO_RESOURCE_DEV_IOC_QUERY ||
			    !parse_ms(optarg, &o.timeout_ms) || o.timeout_ms > 600000)
				usage_error("bad --timeout '%s'", optarg);
			break;
		default:
			exit(EX_USAGE);
		}
	}
	if (argc - optind < 1 || argc - optind > nargs)
		usage_error("%s ID%s", what, nargs > 1 ? " [AMOUNT]" : "");
	o.id = q.id = parse_id(argv[optind]);
	if (argc - optind == 2)
		amount = argv[optind + 1];

	/* The request as it is now (its kind gives the amount's unit). */
	fd = dev_open(0);
	if (ioctl(fd, VIRTIO_RESOURCE_DEV_IOC_QUERY, &q)) {
		if (errno == ENOENT)
			fail("%s %llu: no such request", what, q.id);
		fail("%s %llu: %s", what, q.id, strerror(errno));
	}
	if (cmd == VIRTIO_RESOURCE_DEV_IOC_QUERY) {
		close(fd);
		return print_answer(what, q.answer.kind, &q.answer);
	}
	if (amount && (!parse_amount(q.answer.kind, amount, &o.amount) || !o.amount))
		usage_error("bad %s '%s'",
			    q.answer.kind == VIRTIO_RESOURCE_K_VCPU ? "vcpu count" : "amount",
			    amount);
	err = op_call(fd, cmd, what, &o, &q.answer);
	if (err) {
		printf("PENDING id %llu: %s\n", o.answer.id, strerror(-err));
		return EX_PENDING;
	}
	close(fd);
	if (cmd == VIRTIO_RESOURCE_DEV_IOC_DECLINE || cmd == VIRTIO_RESOURCE_DEV_IOC_RELEASE) {
		char b[32];

		printf("%s id %llu: %s, %s held now\n",
		       cmd == VIRTIO_RESOURCE_DEV_IOC_DECLINE ? "DECLINED" : "RELEASED", o.id,
		       state_name(o.answer.state),
		       amount_str(b, sizeof(b), o.answer.kind, o.answer.granted));
		return EX_GRANTED;
	}
	return print_answer(what, o.answer.kind, &o.answer);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The nearest-rank @p-th percentile of the sorted v[0..n), n > 0. */
static double percentile(const double *v, unsigned long n, unsigned int p)
{
	unsigned long rank = (n * p + 99) / 100;

	return v[rank ? rank - 1 : 0];
}

/* Give back what one bench request got, so that the next one finds the same state. */
static void bench_undo(int fd, const struct virtio_resource_dev_answer *a)
{
	struct virtio_resource_dev_op o = { .size = sizeof(o), .id = a->id };
	unsigned long cmd;
	const char *what;

	switch (a->state) {
	case VIRTIO_RESOURCE_DEV_S_GRANTED:
		cmd = VIRTIO_RESOURCE_DEV_IOC_RELEASE;
		what = "release";
		break;
	case VIRTIO_RESOURCE_DEV_S_OFFERED:
		/* An open offer holds its part until it lapses: free it now. */
		cmd = VIRTIO_RESOURCE_DEV_IOC_DECLINE;
		what = "decline";
		break;
	default:
		return;
	}
	if (op_call(fd, cmd, what, &o, a))
		fail("bench: %s %llu: no answer in time", what, a->id);
}

/*
 * The application's side of a negotiation, timed: @count blocking requests
 * on one open file, each from the ioctl to the host's answer, with what it
 * got given back (untimed) before the next. One line sums it up.
 */
static int cmd_bench(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "amount", required_argument, NULL, 'a' },
		{ "kind", required_argument, NULL, 'k' },
		{ "min", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct virtio_resource_dev_request r = {
		.size = sizeof(r),
		.kind = VIRTIO_RESOURCE_K_MEMORY,
		.urgency = VIRTIO_RESOURCE_U_NORMAL,
		.latency = VIRTIO_RESOURCE_L_INTERACTIVE,
	};
	unsigned int grants = 0, denials = 0, offers = 0;
	const char *amount_arg = NULL, *min_arg = NULL;
	unsigned long count = 200, i;
	double *us;
	char *end;
	int c, fd;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			errno = 0;
			count = strtoul(optarg, &end, 10);
			if (errno || *end || !count || count > 1000000 || optarg[0] == '-')
				usage_error("bad --count '%s' (1..1000000)", optarg);
			break;
		case 'a':
			amount_arg = optarg;
			break;
		case 'k':
			r.kind = parse_kind(optarg);
			break;
		case 'm':
			min_arg = optarg;
			break;
		default:
			exit(EX_USAGE);
		}
	}
	if (optind != argc)
		usage_error("bench takes no arguments, only options");
	if (amount_arg && (!parse_amount(r.kind, amount_arg, &r.amount) || !r.amount))
		usage_error("bad --amount '%s'", amount_arg);
	if (min_arg && !parse_amount(r.kind, min_arg, &r.minimum))
		usage_error("bad --min '%s'", min_arg);
	us = calloc(count, sizeof(*us));
	if (!us)
		fail("bench: out of memory");

	fd = dev_open(0);
	if (!amount_arg) {
		struct virtio_resource_dev_info in = { .size = sizeof(in) };

		/* One unit: a granule of memory, one vCPU. */
		if (ioctl(fd, VIRTIO_RESOURCE_DEV_IOC_INFO, &in))
			fail("bench: info: %s", strerror(errno));
		r.amount = r.kind == VIRTIO_RESOURCE_K_MEMORY ? in.mem_granule : 1;
		if (!r.amount)
			fail("bench: the device has no memory granule");
	}
	/* A minimum below the amount lets the host offer part of it. */
	if (!min_arg)
		r.minimum = r.amount;
	if (r.minimum > r.amount)
		usage_error("--min is more than the amount");
	for (i = 0; i < count; i++) {
		struct virtio_resource_dev_request q = r;
		struct timespec t0, t1;
		int err;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = request_call(fd, &q);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (err == -EINTR || err == -ETIMEDOUT)
			fail("bench: request %lu (id %llu): no answer in time", i + 1, q.answer.id);
		if (err) {
			print_answer("request", q.kind, &q.answer);
			fail("bench: request %lu failed", i + 1);
		}
		us[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e6 +
			(double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
		switch (q.answer.state) {
		case VIRTIO_RESOURCE_DEV_S_GRANTED:
			grants++;
			break;
		case VIRTIO_RESOURCE_DEV_S_DENIED:
			denials++;
			break;
		case VIRTIO_RESOURCE_DEV_S_OFFERED:
			offers++;
			break;
		default:
			fail("bench: request %lu (id %llu): unexpected state %s", i + 1,
			     q.answer.id, state_name(q.answer.state));
		}
		bench_undo(fd, &q.answer);
	}
	close(fd);
	qsort(us, count, sizeof(*us), cmp_double);
	printf("resctl bench: %lu requests, latency us min %.1f p50 %.1f p90 %.1f p99 %.1f "
	       "max %.1f, grants %u denials %u offers %u\n",
	       count, us[0], percentile(us, count, 50), percentile(us, count, 90),
	       percentile(us, count, 99), us[count - 1], grants, denials, offers);
	free(us);
	return EX_GRANTED;
}

static int cmd_table(int argc, char **argv)
{
	struct virtio_resource_dev_table t = { .size = sizeof(t) };
	struct virtio_resource_dev_entry *rows;
	uint32_t i;
	int fd;

	(void)argv;
	if (argc != 1)
		usage_error("table takes no arguments");
	rows = calloc(256, sizeof(*rows));
	if (!rows)
		fail("table: out of memory");
	t.entry_size = sizeof(*rows);
	t.count = 256;
	t.entries = (uintptr_t)rows;
	fd = dev_open(0);
	if (ioctl(fd, VIRTIO_RESOURCE_DEV_IOC_TABLE, &t))
		fail("table: %s", strerror(errno));
	close(fd);
	printf("%-6s %-4s %-6s %-15s %-6s %10s %10s %-13s %10s %-8s %s\n", "ID", "APP", "PID",
	       "COMM", "KIND", "AMOUNT", "MINIMUM", "STATE", "GRANTED", "ANSWER", "AGE");
	for (i = 0; i < t.count; i++) {
		const struct virtio_resource_dev_entry *e = &rows[i];
		const struct virtio_resource_dev_answer *a = &e->answer;
		char amount[32], minimum[32], granted[32], state[32];
		__u64 age_ms = (t.now_ns - e->created_ns) / 1000000;

		snprintf(state, sizeof(state), "%s%s", state_name(a->state), e->busy ? "*" : "");
		printf("%-6llu %-4u %-6u %-15.15s %-6s %10s %10s %-13s %10s "
		       "%-8s %llu.%llus\n",
		       a->id, e->app_id, e->pid, e->comm, kind_name(e->kind),
		       amount_str(amount, sizeof(amount), e->kind, e->amount),
		       amount_str(minimum, sizeof(minimum), e->kind, e->minimum), state,
		       amount_str(granted, sizeof(granted), e->kind, a->granted),
		       answer_name(a->type), age_ms / 1000, age_ms % 1000 / 100);
	}
	printf("%u of %u rows (*: a call under way)\n", t.total, t.capacity);
	free(rows);
	return EX_GRANTED;
}

static int cmd_send(int argc, char **argv)
{
	struct virtio_resource_dev_message m = { .size = sizeof(m) };
	const char *to = NULL;
	size_t len = 1, n = 0, head = 0;
	char *text;
	int i = 1, fd;

	if (argc > 2 && !strcmp(argv[1], "--to")) {
		to = argv[2];
		i = 3;
		if (!*to || strlen(to) >= VIRTIO_RESOURCE_MAX_NAME)
			usage_error("send: a VM name is 1 to %d bytes",
				    VIRTIO_RESOURCE_MAX_NAME - 1);
		/* Another VM's name leads the payload, with its NUL. */
		head = strlen(to) + 1;
	}
	if (i >= argc)
		usage_error("send [--to VM] TEXT...");
	for (int j = i; j < argc; j++)
		len += strlen(argv[j]) + 1;
	text = malloc(head + len);
	if (!text)
		fail("send: out of memory");
	if (to)
		memcpy(text, to, head);
	for (int j = i; j < argc; j++)
		n += (size_t)sprintf(text + head + n, "%s%s", j > i ? " " : "", argv[j]);
	if (!n || head + n > VIRTIO_RESOURCE_DEV_MAX_PAYLOAD)
		fail("send: %zu bytes (1..%zu)", n, VIRTIO_RESOURCE_DEV_MAX_PAYLOAD - head);
	m.dest = to ? VIRTIO_RESOURCE_DEST_NAMED : VIRTIO_RESOURCE_DEST_HOST;
	m.len = (uint32_t)(head + n);
	m.data = (uintptr_t)text;
	fd = dev_open(0);
	if (ioctl(fd, VIRTIO_RESOURCE_DEV_IOC_SEND, &m)) {
		if (to && errno == ENOENT)
			fail("send: no VM named '%s' is registered with the host's broker", to);
		if (to && errno == EAGAIN)
			fail("send: '%s' cannot take more messages now (its queue is full, or "
			     "the broker is away); try again",
			     to);
		fail("send: %s", strerror(errno));
	}
	close(fd);
	printf("sent %zu bytes to %s (txn %llu)\n", n, to ? to : "the host", m.txn);
	free(text);
	return EX_GRANTED;
}

static int cmd_recv(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "wait", no_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	union {
		struct virtio_resource_dev_event ev;
		uint8_t bytes[VIRTIO_RESOURCE_DEV_EVENT_MAX];
	} rec;
	uint32_t timeout_ms = 0;
	bool wait = false;
	int c, fd, got = 0;
	ssize_t n;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			wait = true;
			break;
		case 't':
			if (!parse_ms(optarg, &timeout_ms) || timeout_ms > INT32_MAX)
				usage_error("bad --timeout '%s'", optarg);
			wait = true;
			break;
		default:
			exit(EX_USAGE);
		}
	}
	if (optind != argc)
		usage_error("recv takes no arguments but --wait and --timeout");
	fd = dev_open(O_NONBLOCK);
	for (;;) {
		n = read_record(fd, &rec, sizeof(rec));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int r;

			if (got || !wait)
				break;
			r = poll(&p, 1, timeout_ms ? (int)timeout_ms : -1);
			if (r < 0 && errno != EINTR)
				fail("poll %s: %s", device_path, strerror(errno));
			if (!r) {
				close(fd);
				return EX_PENDING; /* nothing came */
			}
			if (p.revents & (POLLERR | POLLHUP))
				fail("recv: the device went away");
			continue;
		}
		if (rec.ev.type == VIRTIO_RESOURCE_DEV_EV_MESSAGE) {
			print_message(rec.ev.message.source, rec.bytes + sizeof(rec.ev),
				      rec.ev.message.len);
			got++;
		} else if (rec.ev.type == VIRTIO_RESOURCE_DEV_EV_ANSWER) {
			print_record_answer(&rec.ev.answer);
		}
	}
	close(fd);
	return got || !wait ? EX_GRANTED : EX_PENDING;
}

static int cmd_cat(int argc, char **argv)
{
	struct virtio_resource_dev_file f = { .size = sizeof(f) };
	const char *path;
	__u64 off = 0;
	char *buf;
	int fd;

	if (argc != 2)
		usage_error("cat FILE");
	path = argv[1];
	if (!*path || strlen(path) > VIRTIO_RESOURCE_MAX_PATH)
		usage_error("bad path (1..%d bytes)", VIRTIO_RESOURCE_MAX_PATH);
	buf = malloc(READ_CHUNK);
	if (!buf)
		fail("cat: out of memory");
	fd = dev_open(0);
	f.len = (uint32_t)strlen(path);
	f.buf = (uintptr_t)path;
	if (ioctl(fd, VIRTIO_RESOURCE_DEV_IOC_FILE_OPEN, &f))
		fail("cat %s: %s", path, strerror(errno));
	for (;;) {
		struct virtio_resource_dev_file r = { .size = sizeof(r) };
		size_t done = 0;

		r.handle = f.handle;
		r.len = READ_CHUNK;
		r.offset = off;
		r.buf = (uintptr_t)buf;
		if (ioctl(fd, VIRTIO_RESOURCE_DEV_IOC_FILE_READ, &r))
			fail("cat %s: read at %llu: %s", path, off, strerror(errno));
		if (!r.len)
			break;
		while (done < r.len) {
			ssize_t w = write(STDOUT_FILENO, buf + done, r.len - done);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				fail("cat: stdout: %s", strerror(errno));
			done += (size_t)w;
		}
		off += r.len;
	}
	f.len = 0;
	f.buf = 0;
	if (ioctl(fd, VIRTIO_RESOURCE_DEV_IOC_FILE_CLOSE, &f))
		fail("cat %s: close: %s", path, strerror(errno));
	close(fd);
	free(buf);
	return EX_GRANTED;
}

int main(int argc, char **argv)
{
	const char *cmd;
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return EX_GRANTED;
		} else if ((!strcmp(argv[i], "-d") || !strcmp(argv[i], "--device")) &&
			   i + 1 < argc) {
			device_path = argv[i + 1];
			i += 2;
		} else {
			usage_error("unknown option '%s'", argv[i]);
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EX_USAGE;
	}
	cmd = argv[i];
	argc -= i;
	argv += i;
	if (!strcmp(cmd, "info"))
		return cmd_info(argc, argv);
	if (!strcmp(cmd, "request"))
		return cmd_request(argc, argv);
	if (!strcmp(cmd, "accept"))
		return cmd_op(argc, argv, VIRTIO_RESOURCE_DEV_IOC_ACCEPT, "accept");
	if (!strcmp(cmd, "decline"))
		return cmd_op(argc, argv, VIRTIO_RESOURCE_DEV_IOC_DECLINE, "decline");
	if (!strcmp(cmd, "release"))
		return cmd_op(argc, argv, VIRTIO_RESOURCE_DEV_IOC_RELEASE, "release");
	if (!strcmp(cmd, "query"))
		return cmd_op(argc, argv, VIRTIO_RESOURCE_DEV_IOC_QUERY, "query");
	if (!strcmp(cmd, "table"))
		return cmd_table(argc, argv);
	if (!strcmp(cmd, "bench"))
		return cmd_bench(argc, argv);
	if (!strcmp(cmd, "send"))
		return cmd_send(argc, argv);
	if (!strcmp(cmd, "recv"))
		return cmd_recv(argc, argv);
	if (!strcmp(cmd, "cat"))
		return cmd_cat(argc, argv);
	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return EX_GRANTED;
	}
	usage_error("unknown command '%s'", cmd);
}
