// SPDX-License-Identifier: MIT
/*
 * accord-bench, accord alone under User-mode Linux: the default guest
 * (scripts/guest-image: UML, virtio_resource.ko, resctl, memhog) on
 * `accord run --accel uml`, its resource device served over vhost-user.
 *
 *   uml.request_p50/p99  guest-to-decision latency: `resctl bench` in the
 *                        guest asks the host through /dev/virtio-resource
 *                        for one 2 MiB granule, times the blocking ioctl
 *                        until the answer, and gives the grant back
 *                        (untimed) before the next; one run's p50 and p99
 *   uml.reclaim_mibps    memory returned to the host: a QMP `reclaim` to
 *                        its RECLAIM_COMPLETED event
 *   uml.reclaim_rss_drop what that reclaim took off the host: the VmRSS of
 *                        UML's kernel process, the one that maps guest RAM
 *
 * Every run boots fresh guests (one per measurement): a reclaimed guest
 * could be given its memory back with set-allocation, but the pages would
 * come back as zeros with no host memory behind them, and the next reclaim
 * would free nothing. The estimator is off (virtio_resource.estimator_ms=0)
 * so that the driver asks for nothing on its own meanwhile.
 *
 * The reclaim figure is the driver's pace more than accord's: the host gives
 * a reclaim a deadline of amount / mem_rate (the rate the driver advertised,
 * 256 MiB/s by default), at least 1 s, and the driver spreads the balloon's
 * inflation over three quarters of it, so 128 MiB take about 0.75 s.
 */
#include "bench.h"
#include "bench_argv.h"

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "accord/base64.h"

#define MiB (1ull << 20)

#define BOOT_TIMEOUT_MS 60000  /* to the guest's init; UML boots in about a second */
#define RUN_TIMEOUT_MS	180000 /* to the end of the guest's script */
#define QMP_TIMEOUT_MS	10000
#define EXIT_TIMEOUT_MS 10000 /* accord stops UML's group in at most 2 s */
#define GROUP_GRACE_MS	3000
#define SCRIPT_MAX	1024
#define QMP_BUF		65536

/* 128 MiB granted of 256: every 2 MiB request fits, and the policy grants it. */
#define LAT_MEMORY	"128M,max=256M"
#define LAT_COUNT	200
#define LAT_COUNT_SMOKE 20

/* A guest with memory it does not use, touched first so that the host holds it. */
#define RECLAIM_MEMORY	  "512M"
#define RECLAIM_TOUCH	  "256M"
#define RECLAIM_MIB	  128
#define RECLAIM_MIB_SMOKE 32

#define GUEST_PARAMS "virtio_resource.estimator_ms=0"

/* One accord with the default UML guest. */
struct uml_vm {
	struct bench_child ch;
	pid_t uml_pgid; /* UML's process group (its kernel process); 0 until known */
	char console[512];
	char out[512]; /* accord's stdout and stderr */
	char sock[108];
	struct argv_buf argv;
};

/* A blocking QMP connection: one line at a time. */
struct qmp {
	int fd;
	size_t len;
	char buf[QMP_BUF];
};

/* ---- the guest ---- */

/* Is the default UML guest there? accord looks in $ACCORD_GUEST_DIR, else beside itself. */
static bool have_guest(const struct bench_ctx *c, char *dir, size_t cap)
{
	const char *env = getenv("ACCORD_GUEST_DIR");
	char kernel[600], initrd[600];

	if (env && *env)
		snprintf(dir, cap, "%s", env);
	else
		snprintf(dir, cap, "%s/guest-image", c->build_dir);
	snprintf(kernel, sizeof(kernel), "%s/uml-linux", dir);
	snprintf(initrd, sizeof(initrd), "%s/uml-initramfs.cpio.gz", dir);
	return !access(kernel, X_OK) && !access(initrd, R_OK);
}

/* "accord.run=b64:SCRIPT PARAMS": the script as the guest's /init runs it. */
static int guest_cmdline(char *buf, size_t cap, const char *script)
{
	char b64[BASE64_ENCODED_SIZE(SCRIPT_MAX)];
	size_t len = strlen(script);

	if (len > SCRIPT_MAX)
		return -E2BIG;
	base64__encode(script, len, b64);
	if ((size_t)snprintf(buf, cap, "accord.run=b64:%s %s", b64, GUEST_PARAMS) >= cap)
		return -E2BIG;
	return 0;
}

/* accord's child: UML's kernel process, the leader of UML's own process group. */
static pid_t uml_kernel_pid(pid_t accord)
{
	char path[64], file[352]; /* path, a task id (d_name), "/children" */
	struct dirent *e;
	pid_t pid = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", accord);
	d = opendir(path);
	if (!d)
		return 0;
	while (!pid && (e = readdir(d))) {
		char *text;

		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s/children", path, e->d_name);
		text = bench_slurp(file);
		if (text)
			pid = (pid_t)strtol(text, NULL, 10);
		free(text);
	}
	closedir(d);
	return pid > 0 && getpgid(pid) == pid ? pid : 0;
}

/*
 * What is left of UML's process group after @grace_ms gets SIGKILL. accord
 * stops the group itself when it exits on its own, on a signal or on quit,
 * but not when it is killed with SIGKILL.
 */
static void uml_group_stop(pid_t pgid, int grace_ms)
{
	double end = bench_now_ms() + grace_ms;

	if (pgid <= 0)
		return;
	while (kill(-pgid, 0) == 0 && bench_now_ms() < end)
		usleep(10 * 1000);
	for (int i = 0; i < 500 && kill(-pgid, 0) == 0; i++) {
		kill(-pgid, SIGKILL);
		usleep(10 * 1000);
	}
}

/* The last bytes of a file, for a failure message. */
static void log_tail(const struct bench_ctx *c, const char *what, const char *path)
{
	char *text = bench_slurp(path);
	size_t len = text ? strlen(text) : 0;

	if (!len)
		bench_log(c, "uml: %s: nothing", what);
	else
		bench_log(c, "uml: %s ends: %s", what, len > 800 ? text + len - 800 : text);
	free(text);
}

/*
 * Start accord with the default guest running @script, and wait for the
 * guest's init; @api: with a control socket. Returns 0 or a negative errno
 * (everything started is stopped again).
 */
static int vm_start(struct bench_ctx *c, struct uml_vm *vm, const char *tag, const char *memory,
		    const char *script, bool api)
{
	char cmdline[BASE64_ENCODED_SIZE(SCRIPT_MAX) + 128];
	int ret;

	memset(vm, 0, sizeof(*vm));
	ret = guest_cmdline(cmdline, sizeof(cmdline), script);
	if (ret)
		return ret;
	snprintf(vm->console, sizeof(vm->console), "%s/uml-%s.console", c->tmp_dir, tag);
	snprintf(vm->out, sizeof(vm->out), "%s/uml-%s.out", c->tmp_dir, tag);
	if ((size_t)snprintf(vm->sock, sizeof(vm->sock), "%s/uml-%s.sock", c->tmp_dir, tag) >=
	    sizeof(vm->sock)) {
		bench_log(c, "uml: %s is too long a directory for a unix socket", c->tmp_dir);
		return -ENAMETOOLONG;
	}
	/* An earlier run's console would answer the waits below at once. */
	unlink(vm->console);
	unlink(vm->sock);
	argv_add(&vm->argv, "%s/accord", c->build_dir);
	argv_add(&vm->argv, "run");
	argv_add(&vm->argv, "--accel");
	argv_add(&vm->argv, "uml");
	argv_add(&vm->argv, "--memory");
	argv_add(&vm->argv, "%s", memory);
	argv_add(&vm->argv, "--console");
	argv_add(&vm->argv, "file=%s", vm->console);
	if (api) {
		argv_add(&vm->argv, "--api-socket");
		argv_add(&vm->argv, "%s", vm->sock);
	}
	/* No log line per decision: the figures are the device's, not the log's. */
	argv_add(&vm->argv, "--log-level");
	argv_add(&vm->argv, "warn");
	argv_add(&vm->argv, "--cmdline");
	argv_add(&vm->argv, "%s", cmdline);

	ret = bench_spawn(vm->argv.v, vm->out, &vm->ch);
	if (ret) {
		bench_log(c, "uml: cannot start %s: %s", vm->argv.v[0], strerror(-ret));
		return ret;
	}
	if (!bench_wait_text(&vm->ch, vm->console, "accord-uml: init running", BOOT_TIMEOUT_MS)) {
		bench_log(c, "uml: the %s guest did not reach its init", tag);
		log_tail(c, "accord's output", vm->out);
		ret = -EIO;
		goto kill_accord;
	}
	vm->uml_pgid = uml_kernel_pid(vm->ch.pid);
	if (!vm->uml_pgid) {
		bench_log(c, "uml: no UML process under accord (pid %d)", vm->ch.pid);
		ret = -ESRCH;
		goto kill_accord;
	}
	return 0;

kill_accord:
	if (!vm->uml_pgid && !vm->ch.reaped)
		vm->uml_pgid = uml_kernel_pid(vm->ch.pid);
	bench_kill(&vm->ch);
	uml_group_stop(vm->uml_pgid, 0);
	return ret;
}

/*
 * accord gone, after @grace_ms to exit on its own, then SIGTERM (on which it
 * stops UML's group itself), then SIGKILL; and nothing of UML left.
 */
static void vm_stop(struct uml_vm *vm, int grace_ms)
{
	if (bench_wait(&vm->ch, grace_ms)) {
		kill(vm->ch.pid, SIGTERM);
		if (bench_wait(&vm->ch, EXIT_TIMEOUT_MS))
			bench_kill(&vm->ch);
	}
	uml_group_stop(vm->uml_pgid, GROUP_GRACE_MS);
	unlink(vm->sock);
}

/* ---- QMP ---- */

static int qmp_connect(struct qmp *q, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	q->len = 0;
	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (q->fd < 0)
		return -errno;
	if (connect(q->fd, (struct sockaddr *)&addr, sizeof(addr))) {
		int err = -errno;

		close(q->fd);
		q->fd = -1;
		return err;
	}
	return 0;
}

static void qmp_close(struct qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}

static int qmp_send(struct qmp *q, const char *line)
{
	size_t len = strlen(line), done = 0;

	while (done < len) {
		/* Not write(): a closed connection must not raise SIGPIPE in accord-bench. */
		ssize_t n = send(q->fd, line + done, len - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

/* The server's next line, parsed (the caller puts it), within @timeout_ms. */
static int qmp_next(struct qmp *q, int timeout_ms, struct json_object **out)
{
	double end = bench_now_ms() + timeout_ms;

	*out = NULL;
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		double left;
		ssize_t n;

		if (nl) {
			*nl = '\0';
			*out = json_tokener_parse(q->buf);
			q->len -= (size_t)(nl + 1 - q->buf);
			memmove(q->buf, nl + 1, q->len);
			return *out ? 0 : -EPROTO;
		}
		if (q->len == sizeof(q->buf))
			return -E2BIG;
		left = end - bench_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left + 1) < 0 && errno != EINTR)
			return -errno;
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		if (n > 0)
			q->len += (size_t)n;
	}
}

/* @line's "return" (NULL for none wanted; the caller puts it); events meanwhile are dropped. */
static int qmp_execute(struct qmp *q, const char *line, struct json_object **ret)
{
	struct json_object *msg, *v;
	int err;

	if (ret)
		*ret = NULL;
	err = qmp_send(q, line);
	while (!err) {
		err = qmp_next(q, QMP_TIMEOUT_MS, &msg);
		if (err)
			break;
		if (json_object_object_get_ex(msg, "error", NULL)) {
			json_object_put(msg);
			return -EREMOTEIO;
		}
		if (json_object_object_get_ex(msg, "return", &v)) {
			if (ret)
				*ret = json_object_get(v);
			json_object_put(msg);
			return 0;
		}
		json_object_put(msg);
	}
	return err;
}

/* The greeting, then qmp_capabilities. */
static int qmp_handshake(struct qmp *q)
{
	struct json_object *greeting;
	int err = qmp_next(q, QMP_TIMEOUT_MS, &greeting);

	if (err)
		return err;
	err = json_object_object_get_ex(greeting, "QMP", NULL) ? 0 : -EPROTO;
	json_object_put(greeting);
	return err ? err : qmp_execute(q, "{\"execute\":\"qmp_capabilities\"}\n", NULL);
}

/* query-status' memory-file-bytes: host memory UML's RAM file holds (-1: unknown). */
static long long memory_file_bytes(struct qmp *q)
{
	struct json_object *ret, *v;
	long long bytes = -1;

	if (qmp_execute(q, "{\"execute\":\"query-status\"}\n", &ret))
		return -1;
	if (json_object_object_get_ex(ret, "memory-file-bytes", &v) && v)
		bytes = json_object_get_int64(v);
	json_object_put(ret);
	return bytes;
}

/* ---- guest-to-decision latency ---- */

struct lat_result {
	unsigned int n, grants, denials, offers;
	double min, p50, p90, p99, max;
};

/* resctl bench's line (guest/tools/README.md); the last one when there are several. */
static bool parse_resctl_bench(const char *text, struct lat_result *r)
{
	const char *p = text, *line = NULL;

	while ((p = strstr(p, "resctl bench: "))) {
		line = p;
		p++;
	}
	return line && sscanf(line,
			      "resctl bench: %u requests, latency us min %lf p50 %lf p90 %lf "
			      "p99 %lf max %lf, grants %u denials %u offers %u",
			      &r->n, &r->min, &r->p50, &r->p90, &r->p99, &r->max, &r->grants,
			      &r->denials, &r->offers) == 9;
}

/* One guest, one `resctl bench`: adds its p50 and p99. 1: the image's resctl is too old. */
static int latency_run(struct bench_ctx *c, struct bench_series *p50, struct bench_series *p99)
{
	unsigned int count = c->smoke ? LAT_COUNT_SMOKE : LAT_COUNT;
	char script[SCRIPT_MAX], *console = NULL;
	struct lat_result r;
	struct uml_vm vm;
	int ret, code;

	snprintf(script, sizeof(script),
		 "resctl bench --count %u\n"
		 "echo \"bench: resctl=$?\"\n",
		 count);
	ret = vm_start(c, &vm, "request", LAT_MEMORY, script, false);
	if (ret)
		return ret;
	bench_set_command(p50, vm.argv.v);
	bench_set_command(p99, vm.argv.v);
	/* The script ends with the guest's power-off, and accord exits with it. */
	if (!bench_wait_text(&vm.ch, vm.console, "accord-uml: exit", RUN_TIMEOUT_MS)) {
		bench_log(c, "uml: resctl bench did not finish in %d s", RUN_TIMEOUT_MS / 1000);
		ret = -ETIMEDOUT;
		goto stop_vm;
	}
	vm_stop(&vm, EXIT_TIMEOUT_MS);
	console = bench_slurp(vm.console);
	if (console && strstr(console, "unknown command 'bench'")) {
		ret = 1;
		goto free_console;
	}
	code = bench_exit_code(&vm.ch);
	if (!console || code || !parse_resctl_bench(console, &r) || !r.n) {
		bench_log(c, "uml: resctl bench failed (accord exit code %d)", code);
		log_tail(c, "the guest's console", vm.console);
		log_tail(c, "accord's output", vm.out);
		ret = -EIO;
		goto free_console;
	}
	if (r.grants != r.n)
		bench_log(c, "uml: resctl bench: %u of %u requests granted (%u denied, %u offers)",
			  r.grants, r.n, r.denials, r.offers);
	if (c->verbose)
		bench_log(c, "uml: %u requests: min %.1f p50 %.1f p90 %.1f p99 %.1f max %.1f us",
			  r.n, r.min, r.p50, r.p90, r.p99, r.max);
	bench_add(p50, r.p50);
	bench_add(p99, r.p99);
free_console:
	free(console);
	return ret;

stop_vm:
	log_tail(c, "the guest's console", vm.console);
	vm_stop(&vm, 0);
	return ret;
}

/* ---- reclaim ---- */

/*
 * Send `reclaim` and wait for its return and its RECLAIM_COMPLETED; @ms: from
 * the send to the event.
 */
static int reclaim_timed(struct bench_ctx *c, struct qmp *q, unsigned long long bytes, double *ms)
{
	bool returned = false, completed = false;
	char line[128];
	double t0;
	int err;

	snprintf(line, sizeof(line), "{\"execute\":\"reclaim\",\"arguments\":{\"memory\":%llu}}\n",
		 bytes);
	t0 = bench_now_ms();
	err = qmp_send(q, line);
	while (!err && !(returned && completed)) {
		struct json_object *msg, *v;

		err = qmp_next(q, QMP_TIMEOUT_MS, &msg);
		if (err)
			break;
		if (json_object_object_get_ex(msg, "error", &v)) {
			bench_log(c, "uml: reclaim refused: %s", json_object_to_json_string(v));
			err = -EREMOTEIO;
		} else if (json_object_object_get_ex(msg, "return", NULL)) {
			returned = true;
		} else if (json_object_object_get_ex(msg, "event", &v) &&
			   !strcmp(json_object_get_string(v), "RECLAIM_COMPLETED")) {
			*ms = bench_now_ms() - t0;
			completed = true;
		}
		json_object_put(msg);
	}
	return err;
}

/* One guest, one reclaim: adds MiB/s and the RSS drop. */
static int reclaim_run(struct bench_ctx *c, struct bench_series *mibps, struct bench_series *drop)
{
	unsigned int mib = c->smoke ? RECLAIM_MIB_SMOKE : RECLAIM_MIB;
	long long file_before, file_after;
	long rss_before, rss_after;
	struct qmp *q;
	struct uml_vm vm;
	double ms = 0;
	int ret;

	q = malloc(sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->fd = -1;
	/* Touched and freed: the guest's free memory has host memory behind it. */
	ret = vm_start(c, &vm, "reclaim", RECLAIM_MEMORY,
		       "memhog --rate 1G --max " RECLAIM_TOUCH " >/dev/null || exit 1\n"
		       "echo \"bench: ready\"\n"
		       "sleep 600\n",
		       true);
	if (ret)
		goto free_qmp;
	bench_set_command(mibps, vm.argv.v);
	bench_set_command(drop, vm.argv.v);
	if (!bench_wait_socket(vm.sock, QMP_TIMEOUT_MS) || (ret = qmp_connect(q, vm.sock)) ||
	    (ret = qmp_handshake(q))) {
		bench_log(c, "uml: no QMP on %s: %s", vm.sock, strerror(ret ? -ret : ETIMEDOUT));
		ret = ret ? ret : -ETIMEDOUT;
		goto stop_vm;
	}
	if (!bench_wait_text(&vm.ch, vm.console, "bench: ready", RUN_TIMEOUT_MS)) {
		bench_log(c, "uml: the reclaim guest did not get ready");
		log_tail(c, "the guest's console", vm.console);
		ret = -EIO;
		goto stop_vm;
	}
	rss_before = bench_status_kb(vm.uml_pgid, "VmRSS:");
	file_before = memory_file_bytes(q);
	ret = reclaim_timed(c, q, (unsigned long long)mib * MiB, &ms);
	if (ret) {
		bench_log(c, "uml: reclaim of %u MiB: %s", mib, strerror(-ret));
		goto stop_vm;
	}
	rss_after = bench_status_kb(vm.uml_pgid, "VmRSS:");
	file_after = memory_file_bytes(q);
	if (c->verbose)
		bench_log(c,
			  "uml: %u MiB reclaimed in %.1f ms; UML kernel VmRSS %ld -> %ld KiB, "
			  "memory file %lld -> %lld KiB, accord VmRSS %ld KiB",
			  mib, ms, rss_before, rss_after, file_before / 1024, file_after / 1024,
			  bench_status_kb(vm.ch.pid, "VmRSS:"));
	bench_add(mibps, mib / (ms / 1000.0));
	if (rss_before >= 0 && rss_after >= 0)
		bench_add(drop, (double)(rss_before - rss_after) / 1024.0);
	/* quit stops UML's group and ends accord with status 0. */
	ret = qmp_execute(q, "{\"execute\":\"quit\"}\n", NULL);
	qmp_close(q);
	vm_stop(&vm, ret ? 0 : EXIT_TIMEOUT_MS);
	ret = 0;
	goto free_qmp;

stop_vm:
	qmp_close(q);
	vm_stop(&vm, 0);
free_qmp:
	free(q);
	return ret;
}

/* ---- the benchmark ---- */

int bench_uml(struct bench_ctx *c)
{
	unsigned int runs = c->smoke ? 1 : c->runs;
	struct bench_series *p50, *p99, *mibps, *drop;
	bool latency = true;
	char dir[512];
	int ret = 0;

	p50 = bench_series(c, "uml", "uml.request_p50", "guest-to-decision latency under UML, p50",
			   "us");
	p99 = bench_series(c, "uml", "uml.request_p99", "guest-to-decision latency under UML, p99",
			   "us");
	mibps = bench_series(c, "uml", "uml.reclaim_mibps",
			     "reclaim throughput under UML (QMP reclaim to RECLAIM_COMPLETED)",
			     "MiB/s");
	drop = bench_series(c, "uml", "uml.reclaim_rss_drop",
			    "host memory freed by that reclaim (VmRSS of UML's kernel)", "MiB");
	if (!p50 || !p99 || !mibps || !drop)
		return -ENOSPC;
	if (!have_guest(c, dir, sizeof(dir))) {
		bench_skip(p50, "no default UML guest in %s (scripts/guest-image builds it)", dir);
		bench_skip(p99, "%s", p50->note);
		bench_skip(mibps, "%s", p50->note);
		bench_skip(drop, "%s", p50->note);
		return 0;
	}
	snprintf(p50->note, sizeof(p50->note),
		 "resctl bench in the guest: %u blocking requests for one 2 MiB granule (%s, "
		 "estimator off), each released untimed; the guest's CLOCK_MONOTONIC",
		 c->smoke ? LAT_COUNT_SMOKE : LAT_COUNT, LAT_MEMORY);
	snprintf(p99->note, sizeof(p99->note), "%s", p50->note);
	snprintf(mibps->note, sizeof(mibps->note),
		 "%u MiB of a fresh %s guest; paced by the driver: it spreads a reclaim over 3/4 "
		 "of the deadline the host sets (amount / mem_rate, at least 1 s)",
		 c->smoke ? RECLAIM_MIB_SMOKE : RECLAIM_MIB, RECLAIM_MEMORY);
	snprintf(drop->note, sizeof(drop->note),
		 "UML's kernel process maps guest RAM (a shmem file); accord maps only what its "
		 "virtqueues touch (about 3 MiB of VmRSS, unchanged by a reclaim)");
	for (unsigned int r = 0; r < runs && !ret; r++) {
		if (latency) {
			ret = latency_run(c, p50, p99);
			if (ret == 1) {
				bench_skip(p50, "the guest image's resctl has no bench command "
						"(rerun scripts/guest-image)");
				bench_skip(p99, "%s", p50->note);
				latency = false;
				ret = 0;
			}
		}
		if (!ret)
			ret = reclaim_run(c, mibps, drop);
	}
	return ret;
}
