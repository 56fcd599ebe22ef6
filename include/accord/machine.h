/* SPDX-License-Identifier: MIT */
/*
 * One virtual machine as `accord run` builds it: the VM, its devices and
 * vCPU threads, and the event loop that the calling thread runs.
 */
#ifndef ACCORD_MACHINE_H
#define ACCORD_MACHINE_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "accord/broker_link.h"
#include "accord/bus.h"
#include "accord/cli.h"
#include "accord/console.h"
#include "accord/eventloop.h"
#include "accord/log.h"
#include "accord/pci.h"
#include "accord/stop.h"
#include "accord/uart.h"
#include "accord/vcpu.h"
#include <linux/virtio_resource.h>

#include "accord/irq.h"
#include "accord/uml.h"
#include "accord/vhost_user.h"
#include "accord/virtio_pci.h"
#include "accord/vm.h"

/* A virtio device and its transport: a PCI function (kvm) or a vhost-user socket (uml). */
struct machine_virtio {
	union {
		struct virtio_pci pci;
		struct vhost_user vu;
	};
	bool attached; /* the transport is set up (and must be torn down) */
	void *dev;
	void (*destroy)(void *dev);
};

#define MACHINE_MAX_VIRTIO (2 + RUN_MAX_DISKS)

struct host_inventory;
struct inventory_alloc;
struct qmp_server;
struct share;
struct virtio_resource;

struct machine {
	struct acc_log log;
	struct run_config cfg;
	struct vm vm;
	struct bus pio;
	struct bus mmio;
	struct pci_bus pci;
	struct irq_router irq;
	struct machine_virtio *virtio[MACHINE_MAX_VIRTIO];
	struct virtio_resource *resource;
	struct host_inventory *inventory;
	struct share *share;
	struct qmp_server *qmp;
	struct broker_link broker; /* with cfg.broker.path */
	bool has_broker;
	unsigned int nr_virtio;
	uint64_t next_bar;
	struct uart com1;
	struct console console;
	struct event_loop loop;
	struct stop_sink stop_sink;
	struct ratelimit guest_rl;
	struct vcpu_env vcpu_env;
	struct vcpu *vcpus;
	unsigned int nr_vcpus;

	/* --accel uml: the User-mode Linux child and its private directory. */
	struct uml_child uml;
	char run_dir[64];
	struct event_handler uml_exit_handler;
	struct event_handler uml_console_handler;
	atomic_bool stopping;

	pthread_mutex_t stop_lock;
	enum vm_stop_reason stop_reason;
	int stop_code;
	int stop_efd;
	struct event_handler stop_handler;
	int sig_fd;
	struct event_handler sig_handler;
	int port80_efd;
	struct sandbox sandbox; /* built at create, entered once the VM runs */
};

/*
 * Build the VM from @cfg (cfg->accel resolved: kvm or uml); on failure @err
 * says why and nothing is left behind.
 */
int machine__create(struct machine *m, const struct run_config *cfg, struct acc_err *err);
/* Run until the guest or the host stops the VM; returns accord's exit status. */
int machine__run(struct machine *m);
void machine__destroy(struct machine *m);
/* The allocation part of the hardware description (@cfg: the device's view, or NULL). */
/* The guest memory device @i sees (KVM: the VM's; UML: what its front end passed). */
const struct guest_mem *machine__device_mem(const struct machine *m, unsigned int i);
void machine__inventory_alloc(struct machine *m, const struct virtio_resource_config *cfg,
			      struct inventory_alloc *alloc);

#endif
