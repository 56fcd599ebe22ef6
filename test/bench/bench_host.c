// SPDX-License-Identifier: MIT
/*
 * accord-bench, host side: broker decisions per second with 64 simulated VMs
 * (broker-load against `accord hostd`), and the estimator evaluation
 * (estimator-eval suite), whose own results file the report points to.
 */
#include "bench.h"
#include "bench_argv.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BROKER_VMS 64

static double get_num(struct json_object *j, const char *key)
{
	struct json_object *f;

	return json_object_object_get_ex(j, key, &f) ? json_object_get_double(f) : 0;
}

static int broker_run(struct bench_ctx *c, struct bench_series *rate, struct bench_series *p50,
		      struct bench_series *p99)
{
	struct argv_buf hostd = { 0 }, load = { 0 };
	struct json_object *j = NULL, *f;
	struct bench_child ch;
	char sock[512], out[512], cmd[BENCH_CMD_MAX];
	char *text = NULL;
	int code, ret = 0;
	size_t len;

	snprintf(sock, sizeof(sock), "%s/hostd.sock", c->tmp_dir);
	snprintf(out, sizeof(out), "%s/hostd.out", c->tmp_dir);
	unlink(sock);
	argv_add(&hostd, "%s/accord", c->build_dir);
	argv_add(&hostd, "hostd");
	argv_add(&hostd, "--socket");
	argv_add(&hostd, "%s", sock);
	/* Room for every VM's requests, and no growth limit: decisions, not the pool, are measured.
	 */
	argv_add(&hostd, "--pool");
	argv_add(&hostd, "memory=256G,cpus=254");
	argv_add(&hostd, "--rate");
	argv_add(&hostd, "memory=0");
	argv_add(&hostd, "--log-level");
	argv_add(&hostd, "warn");
	argv_add(&load, "%s/test/bench/load/broker-load", c->build_dir);
	argv_add(&load, "--socket");
	argv_add(&load, "%s", sock);
	argv_add(&load, "--vms");
	argv_add(&load, "%u", BROKER_VMS);
	argv_add(&load, "--duration");
	argv_add(&load, "%s", c->smoke ? "0.5" : "3");
	bench_format_command(hostd.v, cmd, sizeof(cmd));
	len = strlen(cmd);
	snprintf(cmd + len, sizeof(cmd) - len, " &  ");
	len = strlen(cmd);
	bench_format_command(load.v, cmd + len, sizeof(cmd) - len);
	snprintf(rate->command, sizeof(rate->command), "%s", cmd);
	snprintf(p50->command, sizeof(p50->command), "%s", cmd);
	snprintf(p99->command, sizeof(p99->command), "%s", cmd);

	ret = bench_spawn(hostd.v, out, &ch);
	if (ret)
		return ret;
	if (!bench_wait_socket(sock, 10000)) {
		bench_log(c, "accord hostd did not open %s", sock);
		ret = -EIO;
		goto kill_hostd;
	}
	code = bench_run_capture(load.v, 120000, &text);
	if (code == 0 && text)
		j = json_tokener_parse(text);
	if (!j || !json_object_object_get_ex(j, "ledger_consistent", &f) ||
	    !json_object_get_boolean(f)) {
		bench_log(c, "broker-load: exit %d, output: %s", code, text ? text : "(none)");
		ret = -EIO;
		goto put_json;
	}
	bench_add(rate, get_num(j, "decisions_per_s"));
	bench_add(p50, get_num(j, "p50_us"));
	bench_add(p99, get_num(j, "p99_us"));
put_json:
	json_object_put(j);
	free(text);
kill_hostd:
	bench_kill(&ch);
	return ret;
}

int bench_broker(struct bench_ctx *c)
{
	struct bench_series *rate, *p50, *p99;
	unsigned int runs = c->smoke ? 1 : c->runs;
	int ret = 0;

	rate = bench_series(c, "broker_rate", "broker_rate.accord",
			    "broker decisions per second, 64 simulated VMs", "decisions/s");
	p50 = bench_series(c, "broker_p50", "broker_p50.accord",
			   "broker decision latency (vm-request), 64 VMs, p50", "us");
	p99 = bench_series(c, "broker_p99", "broker_p99.accord",
			   "broker decision latency (vm-request), 64 VMs, p99", "us");
	if (!rate || !p50 || !p99)
		return -ENOSPC;
	for (unsigned int r = 0; r < runs && !ret; r++)
		ret = broker_run(c, rate, p50, p99);
	return ret;
}

int bench_estimator(struct bench_ctx *c)
{
	struct argv_buf a = { 0 };
	char *text = NULL;
	char dir[512];
	int code;

	if (c->smoke)
		snprintf(dir, sizeof(dir), "%s/estimator", c->tmp_dir);
	else
		snprintf(dir, sizeof(dir), "%s", c->estimator_dir);
	argv_add(&a, "%s/test/bench/estimator/estimator-eval", c->build_dir);
	argv_add(&a, "suite");
	argv_add(&a, "--out-dir");
	argv_add(&a, "%s", dir);
	if (c->smoke)
		argv_add(&a, "--smoke");
	code = bench_run_capture(a.v, 600000, &text);
	if (code) {
		bench_log(c, "estimator-eval suite: exit %d: %s", code, text ? text : "(none)");
		free(text);
		return -EIO;
	}
	free(text);
	snprintf(c->estimator_json, sizeof(c->estimator_json), "%.480s/results.json", dir);
	return 0;
}
