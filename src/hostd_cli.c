// SPDX-License-Identifier: MIT
/* `accord hostd` options. Pure, so every bad input can be unit-tested. */
#include <errno.h>
#include <string.h>

#include "accord/cli.h"
#include "accord/hostd.h"
#include "accord/log.h"
#include "accord/qmp.h"
#include "accord/size.h"

#define HOSTD_DEFAULT_MEM_RATE (512ull << 20) /* bytes a VM's allocation moves per second */
/* VMs reconnect every 500 ms (broker_link.c): they are all back long before this. */
#define HOSTD_DEFAULT_RESUME_WINDOW 30
#define HOSTD_MAX_RESUME_WINDOW	    3600

const char hostd_usage[] =
	"Usage: accord hostd --socket PATH --pool memory=SIZE,cpus=N [OPTIONS]\n"
	"\n"
	"Run the broker that owns this host's pool of memory and vCPUs. VM processes\n"
	"register on its socket (register-vm) and forward their guests' requests,\n"
	"which are decided here: grants within the pool, reclaims from VMs whose\n"
	"forecasts show slack, offers of part now and the rest later, denials with a\n"
	"time to retry. Operators use the same socket (QMP framing, e.g. 'accord ctl\n"
	"PATH query-vms'); docs/broker.md lists its commands and events. VMs keep\n"
	"what they hold when the broker stops, and register again when it is back.\n"
	"\n"
	"Options:\n"
	"  --socket PATH        the broker's socket (mode 0600)\n"
	"  --pool memory=SIZE,cpus=N\n"
	"                       what the broker may hand out in all (SIZE: 2M multiples)\n"
	"  --rate memory=SIZE,cpus=N\n"
	"                       the most any VM's allocation grows per second (default\n"
	"                       memory=512M; 0: no limit; cpus: no limit unless given)\n"
	"  --buffer PCT         kept above each VM's forecast demand before it counts\n"
	"                       as slack (default 20, as Hyper-V keeps)\n"
	"  --resume-window SECONDS\n"
	"                       after the broker starts, VMs that register again keep\n"
	"                       what they say they hold, even past the pool (then\n"
	"                       reclaimed); later they are checked like new VMs\n"
	"                       (default 30; 0: always checked; at most 3600)\n"
	"  --log-level LEVEL    error, warn, info (default) or debug\n"
	"  -h, --help           show this help\n";

int hostd__parse_args(int argc, char *const argv[], struct hostd_config *cfg, struct acc_err *err)
{
	struct ledger_config *l = &cfg->ledger;
	uint64_t n;
	int ret = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->log_level = LOG_INFO;
	cfg->resume_window_s = HOSTD_DEFAULT_RESUME_WINDOW;
	l->unit[LEDGER_MEM] = 2ull << 20;
	l->unit[LEDGER_VCPU] = 1;
	l->rate[LEDGER_MEM] = HOSTD_DEFAULT_MEM_RATE;
	l->buffer_pct = LEDGER_DEFAULT_BUFFER;
	for (int i = 0; i < argc && !ret; i++) {
		const char *opt = argv[i], *v;

		if (!strcmp(opt, "-h") || !strcmp(opt, "--help")) {
			cfg->help = true;
			return 0;
		}
		if (strcmp(opt, "--socket") && strcmp(opt, "--pool") && strcmp(opt, "--rate") &&
		    strcmp(opt, "--buffer") && strcmp(opt, "--resume-window") &&
		    strcmp(opt, "--log-level"))
			return acc_errf(err, EINVAL, "unknown option '%s'", opt);
		if (i + 1 == argc)
			return acc_errf(err, EINVAL, "%s needs a value", opt);
		v = argv[++i];
		if (!strcmp(opt, "--socket")) {
			if (!*v || strlen(v) >= QMP_PATH_MAX)
				return acc_errf(err, ENAMETOOLONG,
						"--socket: the path must have 1 to %d bytes",
						QMP_PATH_MAX - 1);
			cfg->socket = v;
		} else if (!strcmp(opt, "--pool")) {
			ret = cli__parse_kinds(opt, v, &l->pool[LEDGER_MEM], &l->pool[LEDGER_VCPU],
					       1, err);
		} else if (!strcmp(opt, "--rate")) {
			ret = cli__parse_kinds(opt, v, &l->rate[LEDGER_MEM], &l->rate[LEDGER_VCPU],
					       0, err);
		} else if (!strcmp(opt, "--buffer")) {
			ret = uint__parse(v, 0, 1000, &n, err);
			if (ret)
				acc_err_prefix(err, "--buffer: ");
			l->buffer_pct = (uint32_t)n;
		} else if (!strcmp(opt, "--resume-window")) {
			ret = uint__parse(v, 0, HOSTD_MAX_RESUME_WINDOW, &n, err);
			if (ret)
				acc_err_prefix(err, "--resume-window: ");
			cfg->resume_window_s = (unsigned int)n;
		} else {
			ret = cli__parse_log_level(v, &cfg->log_level, err);
		}
	}
	if (ret)
		return ret;
	if (!cfg->socket)
		return acc_errf(err, EINVAL, "--socket PATH is required");
	if (!l->pool[LEDGER_MEM] || !l->pool[LEDGER_VCPU])
		return acc_errf(err, EINVAL, "--pool memory=SIZE,cpus=N is required (both)");
	if (l->pool[LEDGER_MEM] % l->unit[LEDGER_MEM])
		return acc_errf(err, EINVAL, "--pool: memory must be a multiple of 2M");
	if (l->rate[LEDGER_MEM] && l->rate[LEDGER_MEM] < l->unit[LEDGER_MEM])
		return acc_errf(err, EINVAL, "--rate: memory must be 0 or at least 2M");
	return 0;
}
