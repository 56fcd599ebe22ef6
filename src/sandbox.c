// SPDX-License-Identifier: MIT
/*
 * seccomp allowlists per VMM thread and the capability drop (sandbox.h).
 *
 * The filters are built with libseccomp in the main thread before anything
 * runs, exported as BPF, and each thread installs its own with seccomp(2),
 * so no thread allocates or builds anything once the guest runs. What each
 * role may call is listed below with the reason; argument checks narrow
 * ioctl to KVM's and a few terminal requests, socket to AF_UNIX, and
 * mmap/mprotect to non-executable mappings. Process creation, exec, ptrace,
 * mount, module loading and the like are in no list.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <grp.h>
#include <unistd.h>

#include "accord/sandbox.h"

/*
 * The lists keep one group of related calls per line, each with its reason;
 * clang-format would put one name per line.
 */
/* clang-format off */

/* Every thread: memory, locks, time, signals it is sent, logging, exit. */
static const char *const common_calls[] = {
	"read", "write", "readv", "writev", "close", "lseek", "fstat", "newfstatat",
	"futex", "sched_yield", "gettid", "getpid", "tgkill", /* pthread locks, kicks */
	"rt_sigreturn", "rt_sigprocmask", "restart_syscall",
	"brk", "madvise", "munmap", "mremap", /* malloc; mmap, mprotect: below */
	"clock_gettime", "clock_nanosleep", "nanosleep", "getrandom",
	"exit", "exit_group",
};

/*
 * vCPU threads: KVM_RUN and what a port or MMIO exit runs: the UART, PCI
 * config, virtio-pci registers (which wire ioeventfds and irqfds through
 * KVM ioctls), interrupts through eventfds.
 */
static const char *const vcpu_calls[] = {
	"eventfd2", "epoll_ctl", /* a queue's notify eventfd, handed to the event loop */
};

/*
 * The event loop (the main thread once the VM runs): every device backend,
 * io_uring for disks, vhost-user sockets and the memory they pass, the
 * control socket, the broker link (it reconnects), files of the share, the
 * User-mode Linux child (reaped and signalled), and the teardown at exit
 * (unlinking sockets, removing the private run directory).
 */
static const char *const loop_calls[] = {
	"epoll_wait", "epoll_pwait", "epoll_ctl", "poll", "ppoll",
	"eventfd2", "timerfd_create", "timerfd_settime", "timerfd_gettime", "signalfd4",
	"pipe2", "dup", "fcntl",
	"accept4", "connect", "shutdown", "getsockopt", "setsockopt", "getsockname",
	"recvmsg", "sendmsg", "recvfrom", "sendto", /* QMP, vhost-user (with fds) */
	"io_uring_enter", "pread64", "pwrite64", "preadv", "pwritev", "fsync", "fdatasync",
	"fallocate", "ftruncate", "memfd_create", /* punching reclaimed memory out */
	"openat", "openat2", "statx", "getdents64", "readlink", "readlinkat",
	"unlink", "unlinkat", "rmdir", /* sockets and the run directory at exit */
	"pidfd_send_signal", "kill", "waitid", "wait4", /* the User-mode Linux child */
	"geteuid", "getuid", "uname", /* the control socket's peer check; inventory */
	"sched_getaffinity", /* the inventory counts the host's CPUs (query-inventory) */
};

#ifdef ACCORD_SANITIZER_BUILD
/* What the ASan/UBSan runtime calls at thread exit and when it reports. */
static const char *const sanitizer_calls[] = {
	"sigaltstack", "getrlimit", "prlimit64",
};
#endif

/* clang-format on */

/* ioctl requests the event loop makes on a terminal (console raw mode and its restore). */
static const unsigned long loop_tty_ioctls[] = { TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ };

/*
 * Read by the SIGSYS reporter, which may use nothing else: the names of the
 * system calls (filled by sandbox__init) and the role of the thread.
 */
static const char *const *reporter_names;
static __thread int thread_role = -1;
static const char *const role_names[SANDBOX_NR_ROLES] = {
	[SANDBOX_VCPU] = "vCPU",
	[SANDBOX_EVENT_LOOP] = "event-loop",
};

int sandbox__parse_mode(const char *v, enum sandbox_mode *mode)
{
	for (int m = SANDBOX_ON; m <= SANDBOX_OFF; m++) {
		if (!strcmp(v, sandbox__mode_name((enum sandbox_mode)m))) {
			*mode = (enum sandbox_mode)m;
			return 0;
		}
	}
	return -EINVAL;
}

const char *sandbox__mode_name(enum sandbox_mode mode)
{
	switch (mode) {
	case SANDBOX_ON:
		return "on";
	case SANDBOX_LOG:
		return "log";
	case SANDBOX_OFF:
		return "off";
	}
	return "?";
}

/* Async-signal-safe decimal. */
static size_t put_uint(char *p, unsigned long v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

static size_t put_str(char *p, const char *s)
{
	size_t n = strlen(s);

	memcpy(p, s, n);
	return n;
}

/*
 * One line on stderr, then the process ends as the kernel's seccomp kill
 * would (the VM cannot go on safely once a thread stepped outside its list).
 */
static void sandbox__on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char line[320];
	size_t n = 0;
	const char *const *names = reporter_names;
	int role = thread_role;
	ssize_t written;

	n += put_str(line + n, "accord: seccomp: the ");
	n += put_str(line + n, role >= 0 && role < SANDBOX_NR_ROLES ? role_names[role] : "?");
	n += put_str(line + n, " thread made system call ");
	n += put_uint(line + n, (unsigned long)si->si_syscall);
	if (names && si->si_syscall >= 0 && si->si_syscall < SANDBOX_NR_CALL_NAMES &&
	    names[si->si_syscall]) {
		n += put_str(line + n, " (");
		n += put_str(line + n, names[si->si_syscall]);
		n += put_str(line + n, ")");
	}
	n += put_str(line + n, ", which its allowlist does not permit; stopping "
			       "(--seccomp log lets it through, off turns the filter off)\n");
	written = write(STDERR_FILENO, line, n);
	(void)written;
	_exit(SANDBOX_EXIT_STATUS);
}

static int add_names(scmp_filter_ctx ctx, const char *const *names, size_t nr, struct acc_err *err)
{
	for (size_t i = 0; i < nr; i++) {
		int nr_call = seccomp_syscall_resolve_name(names[i]);
		int ret;

		if (nr_call == __NR_SCMP_ERROR)
			return acc_errf(err, EINVAL, "seccomp: unknown system call %s", names[i]);
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr_call, 0);
		if (ret)
			return acc_errf(err, -ret, "seccomp: allowing %s: %s", names[i],
					strerror(-ret));
	}
	return 0;
}

#define ADD_NAMES(ctx, list, err) add_names(ctx, list, sizeof(list) / sizeof(list[0]), err)

/* Rules with argument checks, shared by both roles or only for the event loop. */
static int add_arg_rules(scmp_filter_ctx ctx, enum sandbox_role role)
{
	/* KVM's ioctls are all of type KVMIO: the request's bits 8-15. */
	int ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				   SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00, KVMIO << 8));
	/* Guest memory and buffers: never executable in the VMM. */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				       SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (ret || role != SANDBOX_EVENT_LOOP)
		return ret;
	for (size_t i = 0; i < sizeof(loop_tty_ioctls) / sizeof(loop_tty_ioctls[0]) && !ret; i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffff, loop_tty_ioctls[i]));
	/* The broker link and vhost-user are Unix sockets; nothing else is opened. */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				       SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0));
	return ret;
}

/* Build one role's filter and export it as a BPF program. */
static int build_role(struct sandbox *sb, enum sandbox_role role, struct acc_err *err)
{
	uint32_t def = sb->mode == SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP;
	struct sock_filter *insns = NULL;
	scmp_filter_ctx ctx;
	off_t size;
	int ret, fd;

	ctx = seccomp_init(def);
	if (!ctx)
		return acc_errf(err, ENOMEM, "seccomp: cannot create a filter");
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (ret) {
		acc_errf(err, -ret, "seccomp: %s", strerror(-ret));
		goto release_ctx;
	}
	ret = ADD_NAMES(ctx, common_calls, err);
#ifdef ACCORD_SANITIZER_BUILD
	if (!ret)
		ret = ADD_NAMES(ctx, sanitizer_calls, err);
#endif
	if (!ret)
		ret = role == SANDBOX_VCPU ? ADD_NAMES(ctx, vcpu_calls, err)
					   : ADD_NAMES(ctx, loop_calls, err);
	if (ret)
		goto release_ctx;
	ret = add_arg_rules(ctx, role);
	if (ret) {
		acc_errf(err, -ret, "seccomp: argument rules: %s", strerror(-ret));
		goto release_ctx;
	}
	/* libseccomp 2.5 exports to a file only: a memfd, read back whole. */
	fd = memfd_create("accord-seccomp", MFD_CLOEXEC);
	if (fd < 0) {
		ret = acc_errf(err, errno, "seccomp: memfd: %s", strerror(errno));
		goto release_ctx;
	}
	ret = seccomp_export_bpf(ctx, fd);
	if (ret) {
		acc_errf(err, -ret, "seccomp: export: %s", strerror(-ret));
		goto close_fd;
	}
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(*insns) || size / (off_t)sizeof(*insns) > 0xffff) {
		ret = acc_errf(err, EINVAL, "seccomp: exported filter has %lld bytes",
			       (long long)size);
		goto close_fd;
	}
	insns = malloc((size_t)size);
	if (!insns) {
		ret = acc_errf(err, ENOMEM, "seccomp: out of memory");
		goto close_fd;
	}
	if (pread(fd, insns, (size_t)size, 0) != size) {
		ret = acc_errf(err, EIO, "seccomp: cannot read the exported filter back");
		goto free_insns;
	}
	sb->prog[role].filter = insns;
	sb->prog[role].len = (unsigned short)(size / (off_t)sizeof(*insns));
	close(fd);
	seccomp_release(ctx);
	return 0;

free_insns:
	free(insns);
close_fd:
	close(fd);
release_ctx:
	seccomp_release(ctx);
	return ret;
}

int sandbox__init(struct sandbox *sb, enum sandbox_mode mode, struct acc_err *err)
{
	struct sigaction sa;
	int ret;

	memset(sb, 0, sizeof(*sb));
	sb->mode = mode;
	if (mode == SANDBOX_OFF)
		return 0;
	for (int role = 0; role < SANDBOX_NR_ROLES; role++) {
		ret = build_role(sb, (enum sandbox_role)role, err);
		if (ret)
			goto destroy;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox__on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL)) {
		ret = acc_errf(err, errno, "seccomp: SIGSYS handler: %s", strerror(errno));
		goto destroy;
	}
	for (int nr = 0; nr < SANDBOX_NR_CALL_NAMES; nr++)
		sb->call_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	reporter_names = (const char *const *)sb->call_names;
	return 0;

destroy:
	sandbox__destroy(sb);
	return ret;
}

void sandbox__destroy(struct sandbox *sb)
{
	for (int role = 0; role < SANDBOX_NR_ROLES; role++) {
		free(sb->prog[role].filter);
		sb->prog[role].filter = NULL;
		sb->prog[role].len = 0;
	}
	/* The filters outlive the sandbox: the reporter must not read freed names. */
	if (reporter_names == (const char *const *)sb->call_names)
		reporter_names = NULL;
	for (int nr = 0; nr < SANDBOX_NR_CALL_NAMES; nr++) {
		free(sb->call_names[nr]);
		sb->call_names[nr] = NULL;
	}
}

/* Become @uid:@gid with no supplementary groups; the kernel clears the capabilities. */
static int sandbox__switch_user(uid_t uid, gid_t gid, struct acc_err *err)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (setgroups(0, NULL))
		return acc_errf(err, errno, "setgroups: %s", strerror(errno));
	if (setresgid(gid, gid, gid))
		return acc_errf(err, errno, "setresgid %u: %s", (unsigned int)gid, strerror(errno));
	if (setresuid(uid, uid, uid))
		return acc_errf(err, errno, "setresuid %u: %s", (unsigned int)uid, strerror(errno));
	/* All three of each, or the switch could be undone. */
	if (getresuid(&ruid, &euid, &suid) || getresgid(&rgid, &egid, &sgid) || ruid != uid ||
	    euid != uid || suid != uid || rgid != gid || egid != gid || sgid != gid)
		return acc_errf(err, EPERM, "the switch to %u:%u did not hold", (unsigned int)uid,
				(unsigned int)gid);
	return 0;
}

int sandbox__drop_privileges(const struct sandbox_user *as, uint64_t keep, struct acc_err *err)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3];
	int ret;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return acc_errf(err, errno, "no_new_privs: %s", strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return acc_errf(err, errno, "clearing ambient capabilities: %s", strerror(errno));
	/* The bounding set needs CAP_SETPCAP to shrink: drop it while we still have it. */
	for (unsigned long cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EPERM)
			return acc_errf(err, errno, "dropping capability %lu: %s", cap,
					strerror(errno));
	}
	/* The user switch needs CAP_SETUID and CAP_SETGID, still effective here. */
	if (as) {
		ret = sandbox__switch_user(as->uid, as->gid, err);
		if (ret)
			return ret;
	}
	memset(none, 0, sizeof(none));
	/* What is kept stays effective and permitted; the bounding set has none of it. */
	if (keep && !as) {
		none[0].effective = none[0].permitted = (uint32_t)keep;
		none[1].effective = none[1].permitted = (uint32_t)(keep >> 32);
	}
	if (syscall(SYS_capset, &hdr, none))
		return acc_errf(err, errno, "capset: %s", strerror(errno));
	return 0;
}

int sandbox__enter(const struct sandbox *sb, enum sandbox_role role)
{
	if (sb->mode == SANDBOX_OFF)
		return 0;
	thread_role = role;
	/* no_new_privs is per thread; set it here too so any thread may enter first. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &sb->prog[role]))
		return -errno;
	return 0;
}
