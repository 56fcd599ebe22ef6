/* SPDX-License-Identifier: MIT */
/* The broker's insides, shared by src/hostd*.c. */
#ifndef ACCORD_HOSTD_PRIV_H
#define ACCORD_HOSTD_PRIV_H

#include <json-c/json.h>
#include <stdint.h>

#include "accord/clock.h"
#include "accord/eventloop.h"
#include "accord/hostd.h"
#include "accord/ledger.h"
#include "accord/log.h"
#include "accord/qmp.h"

#define HOSTD_TICK_MS	     100
#define HOSTD_HISTORY	     256
#define HOSTD_MSG_WINDOW     16 /* messages on their way to one VM */
#define HOSTD_MAX_MSGS	     (LEDGER_MAX_VMS * HOSTD_MSG_WINDOW)
#define HOSTD_MSG_TIMEOUT_MS 5000
#define HOSTD_MAX_PAYLOAD    4064 /* what one virtio-resource message carries */
#define HOSTD_MAX_CLIENTS    QMP_CLIENTS_LIMIT

/* A registered VM's connection. */
struct hostd_link {
	struct hostd *hd;
	struct qmp_client *client;
	uint32_t id; /* its ledger entry */
	uint64_t registered_ns;
	unsigned int msgs_in_flight; /* to it, not yet answered */
	uint64_t msgs_sent, msgs_received;
};

/* One decision or change, for query-requests and the live view. */
struct hostd_record {
	int64_t time_ms; /* wall clock */
	char vm[LEDGER_MAX_NAME + 1];
	enum ledger_kind kind;
	uint64_t txn;
	const char *what; /* GRANT, DENY, OFFER, ACCEPT, DECLINE, RELEASE, RECLAIM, ... */
	uint64_t amount;
	uint64_t later;
	uint64_t allocation;
	uint16_t reason;
	uint32_t retry_ms;
	char why[128];
};

/* A VM-to-VM message on its way. */
struct hostd_msg {
	bool used;
	uint64_t seq;
	uint64_t txn; /* the sender's */
	uint32_t from, to;
	uint64_t deadline_ns;
};

struct hostd {
	struct hostd_config cfg;
	char socket_path[QMP_PATH_MAX];
	struct acc_log log;
	struct ratelimit vm_rl; /* what VMs make the broker log */
	struct event_loop loop;
	struct qmp_server qmp;
	struct qmp_command *cmds; /* the VMs' and the operators' tables, joined */
	bool qmp_up;
	struct ledger ledger;
	struct hostd_link *links[LEDGER_MAX_VMS]; /* by ledger slot */
	int timer_fd;
	struct event_handler timer_h;
	int stop_fd;
	struct event_handler stop_h;
	int sig_fd;
	struct event_handler sig_h;
	bool stopping;
	uint64_t started_ns;
	struct hostd_record history[HOSTD_HISTORY];
	unsigned int hist_head, hist_count;
	struct hostd_msg msgs[HOSTD_MAX_MSGS];
	uint64_t next_seq;
	uint64_t msgs_routed, msgs_failed;
};

struct hostd_link *hostd_link_of(struct hostd *hd, const struct ledger_vm *vm);
struct ledger_vm *hostd_vm_of(struct hostd *hd, const struct hostd_link *link);
/* A broadcast event for the operators (takes @data). */
void hostd_emit(struct hostd *hd, const char *name, struct json_object *data);
/* Note a decision or change in the history and tell the operators. */
void hostd_record(struct hostd *hd, const struct ledger_vm *vm, enum ledger_kind kind, uint64_t txn,
		  const char *what, uint64_t amount, uint64_t later, uint16_t reason,
		  uint32_t retry_ms, const char *why);
/* Carry out what the ledger decided: tell the VMs, the operators and the history. */
void hostd_apply(struct hostd *hd, const struct ledger_actions *acts, const char *why);
/* A VM is gone (disconnected or refused): its grants go back, its messages fail. */
void hostd_link_gone(void *owner);
/* Tell @m's sender what became of it (delivered, full, refused, timeout, gone). */
void hostd_msg_finish(struct hostd *hd, struct hostd_msg *m, const char *status);
/* Messages to or from @id end: senders hear @status. */
void hostd_msgs_end(struct hostd *hd, uint32_t id, const char *status);
void hostd_msgs_expire(struct hostd *hd, uint64_t now_ns);

struct json_object *hostd_vm_json(struct hostd *hd, const struct ledger_vm *vm);
struct json_object *hostd_record_json(const struct hostd_record *r);
struct json_object *hostd_kinds_json(const uint64_t *v);
/* The Prometheus text exposition of the broker's state (malloc'd). */
char *hostd_metrics(struct hostd *hd);

/* The command table: VM commands (hostd_vm.c) and operator commands (hostd_ops.c). */
extern const struct qmp_command hostd_vm_commands[];
extern const unsigned int hostd_nr_vm_commands;
extern const struct qmp_command hostd_ops_commands[];
extern const unsigned int hostd_nr_ops_commands;

#endif
