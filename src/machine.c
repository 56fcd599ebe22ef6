// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <linux/capability.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <ftw.h>
#include <grp.h>
#include <stdio.h>
#include <unistd.h>

#include <json-c/json.h>
#include <sched.h>

#include "accord/control.h"
#include "accord/inventory.h"
#include "accord/layout.h"
#include "accord/loader.h"
#include "accord/qmp.h"
#include "accord/resource.h"
#include "accord/share.h"
#include "accord/virtio_blk.h"
#include "accord/virtio_rng.h"
#include "accord/machine.h"
#include "accord/sysdev.h"
#include "accord/tmpfile.h"

/* Port 0x80 is the POST/delay port: writes are absorbed in the kernel. */
#define IO_DELAY_PORT 0x80

static void machine__request_stop(void *ctx, enum vm_stop_reason reason, int code)
{
	struct machine *m = ctx;
	uint64_t one = 1;
	bool first;

	pthread_mutex_lock(&m->stop_lock);
	first = m->stop_reason == VM_STOP_NONE;
	if (first) {
		m->stop_reason = reason;
		m->stop_code = code;
	}
	pthread_mutex_unlock(&m->stop_lock);
	/* The requesting vCPU must not run the guest again, not even briefly. */
	atomic_store(&m->stopping, true);
	if (first && write(m->stop_efd, &one, sizeof(one)) < 0)
		log_err(&m->log, "cannot signal the event loop: %s", strerror(errno));
}

static void machine__uart_irq(void *ctx, bool level)
{
	struct machine *m = ctx;
	int ret = vm__irq_line(&m->vm, UART_COM1_IRQ, level);

	if (ret)
		log_err(&m->log, "KVM_IRQ_LINE %d: %s", UART_COM1_IRQ, strerror(-ret));
}

static int machine__create_devices(struct machine *m, struct acc_err *err)
{
	struct uart_backend be = { console__output, &m->console, machine__uart_irq, m };
	int ret;

	uart__init(&m->com1, &be);
	ret = bus__register(&m->pio, UART_COM1_BASE, UART_NR_REGS, &uart_bus_ops, &m->com1);
	if (!ret)
		ret = sysdev__register(&m->pio, &m->stop_sink);
	if (!ret)
		ret = pci__init(&m->pci, &m->stop_sink);
	if (!ret)
		ret = pci__register_ports(&m->pci, &m->pio);
	if (ret)
		return acc_errf(err, -ret, "cannot register devices: %s", strerror(-ret));
	if (vm__ignore_port_writes(&m->vm, IO_DELAY_PORT, 1, &m->port80_efd))
		m->port80_efd = -1; /* only costs exits; the bus ignores the port too */
	return 0;
}

static int machine__create_vcpus(struct machine *m, const struct boot_entry *entry,
				 struct acc_err *err)
{
	int ret;

	m->vcpus = calloc(m->cfg.cpus, sizeof(*m->vcpus));
	if (!m->vcpus)
		return acc_errf(err, ENOMEM, "out of memory for vCPUs");
	for (unsigned int i = 0; i < m->cfg.cpus; i++) {
		ret = vcpu__create(&m->vcpus[i], m->vm.vm_fd, i, &m->vcpu_env, err);
		if (ret)
			return ret;
		m->nr_vcpus++;
		ret = cpu__init_vcpu(m->vm.kvm_fd, m->vcpus[i].fd, i, m->cfg.cpus,
				     i == 0 ? entry : NULL, &m->log, err);
		if (ret) {
			acc_err_prefix(err, "vCPU %u: ", i);
			return ret;
		}
	}
	return 0;
}

static void machine__destroy_vcpus(struct machine *m)
{
	for (unsigned int i = 0; i < m->nr_vcpus; i++)
		vcpu__destroy(&m->vcpus[i]);
	free(m->vcpus);
	m->vcpus = NULL;
	m->nr_vcpus = 0;
}

static void machine__destroy_rng(void *dev)
{
	virtio_rng__exit(dev);
	free(dev);
}

static void machine__destroy_blk(void *dev)
{
	virtio_blk__exit(dev);
	free(dev);
}

/* A slot for a new device and the guest memory the device is to use. */
static struct machine_virtio *machine__new_virtio(struct machine *m, const struct guest_mem **mem,
						  struct acc_err *err)
{
	struct machine_virtio *mv;

	if (m->nr_virtio == MACHINE_MAX_VIRTIO) {
		acc_errf(err, ENOSPC, "too many virtio devices");
		return NULL;
	}
	mv = calloc(1, sizeof(*mv));
	if (!mv) {
		acc_errf(err, ENOMEM, "out of memory");
		return NULL;
	}
	if (m->cfg.accel == ACCEL_UML) {
		/*
		 * UML's physical memory ends at mem= normally; where it cannot turn
		 * off address randomisation it grows by the gap below its heap.
		 */
		vhost_user__prepare(&mv->vu, m->cfg.mem_size + UML_MEM_SLACK);
		*mem = vhost_user__mem(&mv->vu);
	} else {
		*mem = &m->vm.mem;
	}
	/* Owned by the machine from here on: machine__destroy_virtio frees it. */
	m->virtio[m->nr_virtio++] = mv;
	return mv;
}

/*
 * Attach @vdev's transport: the next BAR window on the PCI bus, as firmware
 * would, or a vhost-user socket in the run directory for the UML child.
 */
static int machine__add_virtio(struct machine *m, struct machine_virtio *mv,
			       struct virtio_dev *vdev, void *dev, void (*destroy)(void *),
			       uint32_t class_code, struct acc_err *err)
{
	int ret;

	mv->dev = dev;
	mv->destroy = destroy;
	if (m->cfg.accel == ACCEL_UML) {
		struct vhost_user_env env = { &m->loop, &m->log, &m->guest_rl };
		char path[sizeof(m->run_dir) + 32];

		snprintf(path, sizeof(path), "%s/virtio-%u.sock", m->run_dir, m->nr_virtio - 1);
		ret = vhost_user__init(&mv->vu, vdev, path, &env, err);
		/* The UML process connects to it as its own user, and nobody else may. */
		if (!ret && m->cfg.runas &&
		    (chown(path, m->cfg.runas_uid, m->cfg.runas_gid) || chmod(path, 0600))) {
			ret = acc_errf(err, errno, "--runas: %s: %s", path, strerror(errno));
			vhost_user__exit(&mv->vu);
		}
	} else {
		struct virtio_pci_env env = { m->vm.vm_fd, &m->mmio, &m->loop, &m->irq, &m->log };

		if (m->next_bar + VPCI_BAR_SIZE > LAYOUT_PCI_MMIO_END)
			return acc_errf(err, ENOSPC, "no room for more PCI BARs");
		ret = virtio_pci__init(&mv->pci, vdev, &m->pci, -1, class_code, m->next_bar, &env,
				       err);
		if (!ret)
			m->next_bar += VPCI_BAR_SIZE;
	}
	mv->attached = !ret;
	return ret;
}

const struct guest_mem *machine__device_mem(const struct machine *m, unsigned int i)
{
	if (i >= m->nr_virtio)
		return NULL;
	return m->cfg.accel == ACCEL_UML ? &m->virtio[i]->vu.mem : &m->vm.mem;
}

void machine__inventory_alloc(struct machine *m, const struct virtio_resource_config *cfg,
			      struct inventory_alloc *alloc)
{
	struct virtio_resource_config now;
	cpu_set_t mask;

	if (!cfg && m->resource) {
		resource__config(m->resource, &now);
		cfg = &now;
	}
	if (cfg) {
		inventory__alloc_from_config(alloc, cfg);
	} else {
		memset(alloc, 0, sizeof(*alloc));
		alloc->granule = RES_GRANULE;
		alloc->mem_max = m->cfg.mem_size;
		alloc->vcpus_max = m->cfg.cpus;
	}
	/* The host CPUs this VM's threads may run on. */
	if (!sched_getaffinity(0, sizeof(mask), &mask))
		inventory__cpuset_from_affinity(&alloc->cpus, &mask, sizeof(mask));
}

static long machine__describe(void *ctx, const struct virtio_resource_config *cfg, void *buf,
			      size_t cap)
{
	struct machine *m = ctx;
	struct inventory_alloc alloc;
	struct acc_err err;
	int ret;

	machine__inventory_alloc(m, cfg, &alloc);
	ret = inventory__to_fdt(m->inventory, &alloc, buf, cap, &err);
	if (ret < 0)
		log_err(&m->log, "%s", err.msg);
	return ret;
}

/* vCPUs 0..granted-1 run; the others wait, parked, until they are granted. */
static void machine__set_vcpus(void *ctx, unsigned int granted)
{
	struct machine *m = ctx;

	for (unsigned int i = 0; i < m->nr_vcpus; i++) {
		bool park = i >= granted;

		if (vcpu__is_parked(&m->vcpus[i]) != park)
			vcpu__set_parked(&m->vcpus[i], park);
	}
}

static void machine__event(void *ctx, const char *name, struct json_object *data)
{
	struct machine *m = ctx;

	if (m->qmp)
		qmp__event(m->qmp, name, data);
	else
		json_object_put(data);
}

static void machine__destroy_resource(void *dev)
{
	virtio_resource__exit(dev);
	free(dev);
}

static int machine__create_resource(struct machine *m, struct acc_err *err)
{
	static const struct resource_host_ops ops = { machine__set_vcpus, machine__describe,
						      machine__event, NULL };
	struct resource_host_ops host = ops;
	struct resource_broker_ops broker = broker_link__ops(&m->broker);
	struct resource_opts opts = {
		.guest_id = m->has_broker ? m->broker.guest_id : 1,
		.mem_max = m->cfg.mem_size,
		.mem_granted = m->cfg.mem_grant,
		.mem_pool = m->cfg.pool_mem,
		.vcpus_max = m->cfg.cpus,
		.vcpus_granted = m->cfg.cpus_grant,
		.vcpus_pool = m->cfg.pool_cpus,
		.broker = m->has_broker ? &broker : NULL,
	};
	struct machine_virtio *mv;
	const struct guest_mem *mem;
	struct virtio_resource *r;
	int ret;

	m->inventory = calloc(1, sizeof(*m->inventory));
	if (!m->inventory)
		return acc_errf(err, ENOMEM, "out of memory");
	ret = inventory__scan("", m->inventory, err);
	if (ret)
		return ret;
	if (m->cfg.share) {
		m->share = calloc(1, sizeof(*m->share));
		if (!m->share)
			return acc_errf(err, ENOMEM, "out of memory");
		ret = share__open_root(m->share, m->cfg.share, err);
		if (ret)
			return ret;
		opts.share = m->share;
	}
	mv = machine__new_virtio(m, &mem, err);
	if (!mv)
		return -ENOMEM;
	r = calloc(1, sizeof(*r));
	if (!r)
		return acc_errf(err, ENOMEM, "out of memory");
	host.ctx = m;
	ret = virtio_resource__init(r, &opts, &host, mem, &m->log, &m->guest_rl, err);
	if (ret) {
		free(r);
		return ret;
	}
	m->resource = r;
	if (m->has_broker)
		broker_link__attach(&m->broker, r);
	return machine__add_virtio(m, mv, &r->vdev, r, machine__destroy_resource, PCI_CLASS_OTHERS,
				   err);
}

static int machine__create_virtio(struct machine *m, struct acc_err *err)
{
	int ret;

	ret = machine__create_resource(m, err);
	if (ret)
		return ret;

	if (m->cfg.rng) {
		const struct guest_mem *mem;
		struct machine_virtio *mv = machine__new_virtio(m, &mem, err);
		struct virtio_rng *rng;

		if (!mv)
			return -ENOMEM;
		rng = calloc(1, sizeof(*rng));
		if (!rng)
			return acc_errf(err, ENOMEM, "out of memory");
		virtio_rng__init(rng, mem, &m->log, &m->guest_rl);
		ret = machine__add_virtio(m, mv, &rng->vdev, rng, machine__destroy_rng,
					  PCI_CLASS_OTHERS, err);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < m->cfg.nr_disks; i++) {
		const struct disk_config *d = &m->cfg.disks[i];
		struct virtio_blk_opts opts = { d->path, d->readonly,
						d->has_serial ? d->serial : NULL };
		const struct guest_mem *mem;
		struct machine_virtio *mv = machine__new_virtio(m, &mem, err);
		struct virtio_blk *blk;

		if (!mv)
			return -ENOMEM;
		blk = calloc(1, sizeof(*blk));
		if (!blk)
			return acc_errf(err, ENOMEM, "out of memory");
		ret = virtio_blk__init(blk, &opts, &m->loop, mem, &m->log, &m->guest_rl, err);
		if (ret) {
			free(blk);
			return ret;
		}
		ret = machine__add_virtio(m, mv, &blk->vdev, blk, machine__destroy_blk,
					  PCI_CLASS_STORAGE_SCSI, err);
		if (ret)
			return ret;
	}
	return 0;
}

static void machine__destroy_virtio(struct machine *m)
{
	while (m->nr_virtio) {
		struct machine_virtio *mv = m->virtio[--m->nr_virtio];

		if (mv->attached && m->cfg.accel == ACCEL_UML)
			vhost_user__exit(&mv->vu);
		else if (mv->attached)
			virtio_pci__exit(&mv->pci);
		if (mv->dev)
			mv->destroy(mv->dev);
		free(mv);
	}
	m->resource = NULL;
	if (m->share) {
		share__close_root(m->share);
		free(m->share);
		m->share = NULL;
	}
	free(m->inventory);
	m->inventory = NULL;
}

static void machine__on_stop(struct event_handler *h, uint32_t events)
{
	struct machine *m = h->ctx;
	uint64_t v;

	if (read(m->stop_efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_err(&m->log, "stop eventfd: %s", strerror(errno));
	atomic_store(&m->stopping, true);
}

static void machine__on_signal(struct event_handler *h, uint32_t events)
{
	struct machine *m = h->ctx;
	struct signalfd_siginfo si;

	if (read(m->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info(&m->log, "stopping the VM on %s", strsignal((int)si.ssi_signo));
	machine__request_stop(m, VM_STOP_SIGNAL, (int)si.ssi_signo);
}

/* The KVM half: the VM, its chipset and buses, and the kernel loaded into RAM. */
static int machine__create_kvm(struct machine *m, struct acc_err *err)
{
	int ret;

	ret = vm__create(&m->vm, m->cfg.mem_size, err);
	if (ret)
		return ret;
	irq__init(&m->irq, m->vm.vm_fd);
	if (m->cfg.cpus > m->vm.max_vcpus) {
		ret = acc_errf(err, ERANGE, "--cpus: %u is more than KVM's limit of %u",
			       m->cfg.cpus, m->vm.max_vcpus);
		goto destroy_vm;
	}
	ret = machine__create_devices(m, err);
	if (ret)
		goto destroy_vm;
	return 0;

destroy_vm:
	irq__exit(&m->irq);
	vm__destroy(&m->vm);
	return ret;
}

static void machine__destroy_kvm(struct machine *m)
{
	if (m->port80_efd >= 0)
		close(m->port80_efd);
	pci__exit(&m->pci);
	uart__exit(&m->com1);
	irq__exit(&m->irq);
	vm__destroy(&m->vm);
}

/* The UML half: a private directory for the device sockets and UML's own files. */
static int machine__create_uml(struct machine *m, struct acc_err *err)
{
	const char *tmp = getenv("TMPDIR");
	int ret;

	if (m->cfg.cpus != 1 || m->cfg.cpus_grant != 1)
		return acc_errf(err, EINVAL,
				"--cpus: User-mode Linux runs one CPU; use --accel kvm for more");
	/* UML splits its command line at spaces and device paths at ':'. */
	if (!tmp || !*tmp || strlen(tmp) >= 40 || strpbrk(tmp, " \t\n:,"))
		tmp = "/tmp";
	if (m->cfg.runas && geteuid())
		return acc_errf(
			err, EPERM,
			"--runas: accord must start as root to run the guest as another user");
	ret = acc_mkdtemp(m->run_dir, sizeof(m->run_dir), tmp, "accord");
	if (ret) {
		m->run_dir[0] = '\0';
		return acc_errf(err, -ret, "cannot make a run directory: %s", strerror(-ret));
	}
	/*
	 * UML keeps its pid file and mconsole socket here, in a directory of
	 * its group that passes the group on (setgid); accord joins the group
	 * so that, without privileges, it can still remove what UML leaves.
	 */
	if (m->cfg.runas &&
	    (setgroups(1, &m->cfg.runas_gid) || chown(m->run_dir, (uid_t)-1, m->cfg.runas_gid) ||
	     chmod(m->run_dir, 02770))) {
		ret = acc_errf(err, errno, "--runas: %s: %s", m->run_dir, strerror(errno));
		rmdir(m->run_dir);
		m->run_dir[0] = '\0';
		return ret;
	}
	m->uml.pid = -1;
	m->uml.pidfd = m->uml.console_in = m->uml.console_out = -1;
	return 0;
}

static int machine__remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void machine__destroy_uml(struct machine *m)
{
	uml__stop(&m->uml, 0);
	uml__close(&m->uml);
	/* UML leaves its pid file and mconsole socket when it is killed. */
	if (m->run_dir[0])
		nftw(m->run_dir, machine__remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

int machine__create(struct machine *m, const struct run_config *cfg, struct acc_err *err)
{
	bool uml = cfg->accel == ACCEL_UML;
	struct boot_entry entry;
	int ret;

	memset(m, 0, sizeof(*m));
	m->cfg = *cfg;
	m->stop_efd = m->sig_fd = m->port80_efd = -1;
	m->loop.epfd = -1;
	m->next_bar = LAYOUT_PCI_MMIO;
	log__init(&m->log, cfg->name, (enum log_level)cfg->log_level);
	pthread_mutex_init(&m->stop_lock, NULL);
	ratelimit__init(&m->guest_rl, 5000, 10);
	m->stop_sink = (struct stop_sink){ machine__request_stop, m };
	bus__init(&m->pio);
	bus__init(&m->mmio);
	ret = sandbox__init(&m->sandbox, cfg->seccomp, err);
	if (ret)
		goto destroy_buses;
	ret = eventloop__init(&m->loop);
	if (ret) {
		acc_errf(err, -ret, "epoll: %s", strerror(-ret));
		goto destroy_sandbox;
	}
	if (cfg->runas && !uml) {
		ret = acc_errf(err, EINVAL,
			       "--runas: only with --accel uml; under kvm the guest runs inside "
			       "accord, so start accord as that user instead");
		goto exit_loop;
	}
	ret = uml ? machine__create_uml(m, err) : machine__create_kvm(m, err);
	if (ret)
		goto exit_loop;
	ret = console__open(&m->console, cfg->console, cfg->console_path, &m->log, err);
	if (ret)
		goto destroy_accel;
	if (cfg->broker.path) {
		/* Registered before the device exists: the broker gives the guest its id. */
		struct resource_broker_state boot = { .mem_max = cfg->mem_size,
						      .mem_granted = cfg->mem_grant,
						      .vcpus_max = cfg->cpus,
						      .vcpus_granted = cfg->cpus_grant };

		ret = broker_link__start(&m->broker, &cfg->broker, cfg->name, &boot, &m->loop,
					 &m->log, err);
		if (ret)
			goto close_console;
		m->has_broker = true;
	}
	ret = machine__create_virtio(m, err);
	if (ret)
		goto destroy_virtio;
	if (!uml) {
		ret = loader__load_files(&m->vm.mem, cfg->kernel, cfg->initrd, cfg->cmdline,
					 cfg->cpus, &entry, err);
		if (ret)
			goto destroy_virtio;
		m->vcpu_env = (struct vcpu_env){ &m->pio,	 &m->mmio,     &m->stop_sink,
						 &m->log,	 &m->guest_rl, &m->stopping,
						 m->vm.run_size, &m->sandbox };
		ret = machine__create_vcpus(m, &entry, err);
		if (ret)
			goto destroy_vcpus;
		machine__set_vcpus(m, cfg->cpus_grant);
	}
	if (cfg->api_socket) {
		ret = control__start(m, err);
		if (ret)
			goto stop_control;
	}
	m->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->stop_efd < 0) {
		ret = acc_errf(err, errno, "eventfd: %s", strerror(errno));
		goto stop_control;
	}
	m->stop_handler = (struct event_handler){ m->stop_efd, machine__on_stop, m };
	ret = eventloop__add(&m->loop, &m->stop_handler, EPOLLIN);
	if (ret) {
		acc_errf(err, -ret, "epoll: %s", strerror(-ret));
		goto close_stop;
	}
	return 0;

close_stop:
	close(m->stop_efd);
stop_control:
	control__stop(m);
destroy_vcpus:
	machine__destroy_vcpus(m);
destroy_virtio:
	machine__destroy_virtio(m);
	if (m->has_broker)
		broker_link__stop(&m->broker);
close_console:
	console__close(&m->console);
destroy_accel:
	if (uml)
		machine__destroy_uml(m);
	else
		machine__destroy_kvm(m);
exit_loop:
	eventloop__exit(&m->loop);
destroy_sandbox:
	sandbox__destroy(&m->sandbox);
destroy_buses:
	bus__exit(&m->mmio);
	bus__exit(&m->pio);
	ratelimit__destroy(&m->guest_rl);
	pthread_mutex_destroy(&m->stop_lock);
	return ret;
}

static unsigned int machine__uart_input(void *ctx, const uint8_t *buf, unsigned int len)
{
	return uart__receive(ctx, buf, len);
}

static unsigned int machine__uml_input(void *ctx, const uint8_t *buf, unsigned int len)
{
	struct machine *m = ctx;
	ssize_t n = write(m->uml.console_in, buf, len);

	return n > 0 ? (unsigned int)n : 0;
}

static void machine__on_uml_console(struct event_handler *h, uint32_t events)
{
	struct machine *m = h->ctx;
	uint8_t buf[4096];
	ssize_t n;

	/* Drain it: after the guest exits this is called once for its last words. */
	while ((n = read(h->fd, buf, sizeof(buf))) > 0)
		console__output(&m->console, buf, (unsigned int)n);
	if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		/* The guest closed its console: it is going away. */
		eventloop__del(&m->loop, h);
	}
}

static void machine__on_uml_exit(struct event_handler *h, uint32_t events)
{
	struct machine *m = h->ctx;

	if (uml__reap(&m->uml))
		return;
	eventloop__del(&m->loop, h);
	/* What is still in the console pipe is the guest's last words. */
	machine__on_uml_console(&m->uml_console_handler, EPOLLIN);
	if (WIFSIGNALED(m->uml.wait_status)) {
		int sig = WTERMSIG(m->uml.wait_status);
		const char *abbrev = sigabbrev_np(sig);

		log_err(&m->log, "the User-mode Linux guest (process %d) was killed by SIG%s (%d)",
			(int)m->uml.pid, abbrev ? abbrev : "?", sig);
	}
	machine__request_stop(m, VM_STOP_GUEST_EXIT, uml__exit_status(&m->uml));
}

static int machine__start_uml(struct machine *m, struct acc_err *err)
{
	struct uml_spawn spawn = {
		.kernel = m->cfg.kernel,
		.initrd = m->cfg.initrd,
		.cmdline = m->cfg.cmdline,
		.mem_size = m->cfg.mem_size,
		.run_dir = m->run_dir,
		.runas = m->cfg.runas,
		.user = { m->cfg.runas_uid, m->cfg.runas_gid },
	};
	struct console_sink sink = { machine__uml_input, m };
	int ret;

	for (unsigned int i = 0; i < m->nr_virtio && i < UML_MAX_DEVICES; i++) {
		struct machine_virtio *mv = m->virtio[i];

		spawn.devices[spawn.nr_devices++] =
			(struct uml_device){ mv->vu.addr.sun_path, mv->vu.vdev->ops->device_id };
	}
	ret = uml__spawn(&m->uml, &spawn, err);
	if (ret)
		return ret;
	m->uml_exit_handler = (struct event_handler){ m->uml.pidfd, machine__on_uml_exit, m };
	m->uml_console_handler =
		(struct event_handler){ m->uml.console_out, machine__on_uml_console, m };
	ret = eventloop__add(&m->loop, &m->uml_exit_handler, EPOLLIN);
	if (!ret)
		ret = eventloop__add(&m->loop, &m->uml_console_handler, EPOLLIN);
	if (!ret)
		ret = console__attach(&m->console, &m->loop, &sink, &m->stop_sink);
	if (ret)
		return acc_errf(err, -ret, "event loop: %s", strerror(-ret));
	log_debug(&m->log, "User-mode Linux guest started as process %d", (int)m->uml.pid);
	return 0;
}

static int machine__start_kvm(struct machine *m, struct acc_err *err)
{
	struct console_sink sink = { machine__uart_input, &m->com1 };
	int ret;

	ret = console__attach(&m->console, &m->loop, &sink, &m->stop_sink);
	if (ret)
		return acc_errf(err, -ret, "event loop: %s", strerror(-ret));
	for (unsigned int i = 0; i < m->nr_vcpus; i++) {
		ret = vcpu__start(&m->vcpus[i], err);
		if (ret)
			return ret;
	}
	return 0;
}

static int machine__start(struct machine *m, sigset_t *old_mask)
{
	struct acc_err err;
	sigset_t stop_sigs, blocked;
	int ret;

	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGINT);
	sigaddset(&stop_sigs, SIGTERM);
	sigaddset(&stop_sigs, SIGHUP);
	sigaddset(&stop_sigs, SIGQUIT);
	blocked = stop_sigs;
	/* vCPU threads inherit this mask and unblock only the kick signal. */
	sigaddset(&blocked, VCPU_KICK_SIGNAL);
	sigaddset(&blocked, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &blocked, old_mask);

	ret = vcpu__install_kick_handler();
	if (ret) {
		log_err(&m->log, "cannot install the vCPU kick handler: %s", strerror(-ret));
		return ret;
	}
	m->sig_fd = signalfd(-1, &stop_sigs, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m->sig_fd < 0) {
		log_err(&m->log, "signalfd: %s", strerror(errno));
		return -errno;
	}
	m->sig_handler = (struct event_handler){ m->sig_fd, machine__on_signal, m };
	ret = eventloop__add(&m->loop, &m->sig_handler, EPOLLIN);
	if (ret) {
		log_err(&m->log, "event loop: %s", strerror(-ret));
		return ret;
	}
	/*
	 * Before the vCPU threads start, so that none has them; the UML child
	 * drops its own after taking --runas's user.
	 */
	if (m->cfg.accel == ACCEL_UML) {
		ret = machine__start_uml(m, &err);
		/* A guest of another user is signalled (stopped, its group swept) with CAP_KILL. */
		if (!ret)
			ret = sandbox__drop_privileges(NULL, m->cfg.runas ? 1ull << CAP_KILL : 0,
						       &err);
	} else {
		ret = sandbox__drop_privileges(NULL, 0, &err);
		if (!ret)
			ret = machine__start_kvm(m, &err);
	}
	if (ret) {
		log_err(&m->log, "%s", err.msg);
		return ret;
	}
	/* The event loop makes no thread or process from here on: confine it. */
	ret = sandbox__enter(&m->sandbox, SANDBOX_EVENT_LOOP);
	if (ret)
		log_err(&m->log, "cannot enter the event loop's seccomp filter: %s",
			strerror(-ret));
	return ret;
}

int machine__run(struct machine *m)
{
	sigset_t old_mask;
	int ret;

	ret = machine__start(m, &old_mask);
	if (ret)
		machine__request_stop(m, VM_STOP_INTERNAL_ERROR, 0);
	while (!atomic_load(&m->stopping)) {
		ret = eventloop__run_once(&m->loop, -1);
		if (ret < 0) {
			log_err(&m->log, "event loop: %s", strerror(-ret));
			machine__request_stop(m, VM_STOP_INTERNAL_ERROR, 0);
			atomic_store(&m->stopping, true);
		}
	}
	for (unsigned int i = 0; i < m->nr_vcpus; i++)
		vcpu__kick(&m->vcpus[i]);
	for (unsigned int i = 0; i < m->nr_vcpus; i++)
		vcpu__join(&m->vcpus[i]);
	/* Stopped by accord (a signal, quit): the child gets a moment to clean up. */
	if (m->cfg.accel == ACCEL_UML)
		uml__stop(&m->uml, 2000);
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);

	switch (m->stop_reason) {
	case VM_STOP_REBOOT:
		log_info(&m->log, "the guest asked for a reboot; stopping the VM");
		break;
	case VM_STOP_DEBUG_EXIT:
		log_debug(&m->log, "the guest wrote %d to the debug-exit port", m->stop_code);
		break;
	case VM_STOP_POWEROFF:
		log_debug(&m->log, "the guest powered off");
		break;
	default:
		break;
	}
	return stop__exit_status(m->stop_reason, m->stop_code);
}

void machine__destroy(struct machine *m)
{
	if (m->sig_fd >= 0)
		close(m->sig_fd);
	close(m->stop_efd);
	control__stop(m);
	machine__destroy_vcpus(m);
	if (m->has_broker)
		broker_link__stop(&m->broker);
	machine__destroy_virtio(m);
	console__close(&m->console);
	if (m->cfg.accel == ACCEL_UML)
		machine__destroy_uml(m);
	else
		machine__destroy_kvm(m);
	eventloop__exit(&m->loop);
	bus__exit(&m->mmio);
	bus__exit(&m->pio);
	ratelimit__destroy(&m->guest_rl);
	pthread_mutex_destroy(&m->stop_lock);
	sandbox__destroy(&m->sandbox);
}
