// SPDX-License-Identifier: MIT
/*
 * Unit tests (unit_virtio runner): the vhost-user device side, with the
 * test as the front end on a socketpair. Its guest memory is a memfd that
 * both sides map, as User-mode Linux passes its physical memory file. A
 * virtio-rng device stands behind the transport: the same device code as
 * under PCI. A front end that breaks the protocol gets an error reply
 * (REPLY_ACK) or is dropped, and the device state stays consistent.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "accord/eventloop.h"
#include "accord/vhost_user.h"
#include "accord/virtio_rng.h"

#include "virtio_test.h"

#define FE_MEM_SIZE 0x200000u /* the front end's RAM: 2 MiB */
#define FE_GPA	    0x400000u /* where it lies guest-physically, as UML's does past its binary */
#define FE_USER	    0x7f0000000000ull /* the front end's own address of it */
#define RING_OFF    0x1000u
#define DATA_OFF    0x10000u
#define QSIZE	    8

static struct event_loop loop;
static struct acc_log quiet;
static struct ratelimit rl;
static struct vhost_user vu;
static struct virtio_rng rng;
static int fe, be_peer, memfd;
static uint8_t *fe_ram;
static struct vring_drv d;

static void setup(void)
{
	struct vhost_user_env env = { &loop, &quiet, &rl };
	int sv[2];

	ck_assert_int_eq(eventloop__init(&loop), 0);
	log__init(&quiet, "test", LOG_ERROR);
	ratelimit__init(&rl, 1000, 1000);
	vhost_user__prepare(&vu, FE_GPA + FE_MEM_SIZE);
	virtio_rng__init(&rng, vhost_user__mem(&vu), &quiet, &rl);
	ck_assert_int_eq(vhost_user__init(&vu, &rng.vdev, NULL, &env, NULL), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fe = sv[0];
	ck_assert_int_eq(vhost_user__attach(&vu, sv[1]), 0);
	memfd = memfd_create("fe-ram", MFD_CLOEXEC);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(ftruncate(memfd, FE_MEM_SIZE), 0);
	fe_ram = mmap(NULL, FE_MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ck_assert_ptr_ne(fe_ram, MAP_FAILED);
	/* The test's ring helpers index RAM by guest-physical address from fe_ram. */
	vring_drv__init(&d, fe_ram - FE_GPA, QSIZE, FE_GPA + RING_OFF);
	be_peer = -1;
}

static void teardown(void)
{
	vhost_user__exit(&vu);
	virtio_rng__exit(&rng);
	munmap(fe_ram, FE_MEM_SIZE);
	close(memfd);
	close(fe);
	if (be_peer >= 0)
		close(be_peer);
	ratelimit__destroy(&rl);
	eventloop__exit(&loop);
}

/* Send one message with @nr_fds files; the device handles it at once. */
static int fe_send(uint32_t request, uint32_t flags, const void *payload, uint32_t size,
		   const int *fds, unsigned int nr_fds)
{
	struct vhost_user_msg msg = { .hdr = { request, VHOST_USER_VERSION | flags, size } };
	char control[CMSG_SPACE(VHOST_USER_MAX_FDS * sizeof(int))] = { 0 };
	struct iovec iov = { &msg, sizeof(msg.hdr) + size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (size)
		memcpy(msg.bytes, payload, size);
	if (nr_fds) {
		struct cmsghdr *cm;

		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(nr_fds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nr_fds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nr_fds * sizeof(int));
	}
	ck_assert_int_eq(sendmsg(fe, &mh, 0), (ssize_t)(sizeof(msg.hdr) + size));
	return vhost_user__handle_one(&vu);
}

/* Read the device's reply: its payload into @out (at most @cap bytes); returns its size. */
static uint32_t fe_reply(uint32_t request, void *out, size_t cap)
{
	struct vhost_user_hdr hdr;

	ck_assert_int_eq(recv(fe, &hdr, sizeof(hdr), MSG_WAITALL), sizeof(hdr));
	ck_assert_uint_eq(hdr.request, request);
	ck_assert_uint_eq(hdr.flags, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY);
	ck_assert_uint_le(hdr.size, cap);
	if (hdr.size)
		ck_assert_int_eq(recv(fe, out, hdr.size, MSG_WAITALL), hdr.size);
	return hdr.size;
}

static uint64_t fe_u64(uint32_t request)
{
	uint64_t v = 0;

	ck_assert_int_eq(fe_send(request, 0, NULL, 0, NULL, 0), 0);
	ck_assert_uint_eq(fe_reply(request, &v, sizeof(v)), sizeof(v));
	return v;
}

/* A request with NEED_REPLY: the REPLY_ACK value (0 success). */
static uint64_t fe_acked(uint32_t request, const void *payload, uint32_t size, const int *fds,
			 unsigned int nr_fds)
{
	uint64_t v = 99;

	fe_send(request, VHOST_USER_FLAG_NEED_REPLY, payload, size, fds, nr_fds);
	ck_assert_uint_eq(fe_reply(request, &v, sizeof(v)), sizeof(v));
	return v;
}

static uint64_t fe_mem_table(void)
{
	struct vhost_user_mem_table t = { .num = 1 };

	t.regions[0] = (struct vhost_user_mem_region){ FE_GPA, FE_MEM_SIZE, FE_USER, 0 };
	return fe_acked(VHOST_USER_SET_MEM_TABLE, &t, sizeof(t), &memfd, 1);
}

static uint64_t fe_state(uint32_t request, uint32_t index, uint32_t num)
{
	struct vhost_user_vring_state s = { index, num };

	return fe_acked(request, &s, sizeof(s), NULL, 0);
}

/*
 * What virtio_uml does in find_vqs for queue 0, up to and including enable;
 * without protocol features the kick file starts the ring instead.
 */
static void fe_setup_ring_with(int kick, int call, bool protocol_features)
{
	struct vhost_user_vring_addr a = {
		0, 0, FE_USER + RING_OFF, FE_USER + RING_OFF + 0x2000, FE_USER + RING_OFF + 0x1000,
		0
	};
	uint64_t idx = 0, features = 1ull << VIRTIO_F_VERSION_1;

	if (protocol_features)
		features |= 1ull << VHOST_USER_F_PROTOCOL_FEATURES;
	ck_assert_uint_eq(fe_acked(VHOST_USER_SET_FEATURES, &features, 8, NULL, 0), 0);
	ck_assert_uint_eq(fe_mem_table(), 0);
	ck_assert_uint_eq(fe_acked(VHOST_USER_SET_VRING_CALL, &idx, 8, &call, 1), 0);
	ck_assert_uint_eq(fe_state(VHOST_USER_SET_VRING_NUM, 0, QSIZE), 0);
	ck_assert_uint_eq(fe_state(VHOST_USER_SET_VRING_BASE, 0, 0), 0);
	ck_assert_uint_eq(fe_acked(VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0), 0);
	ck_assert_uint_eq(fe_acked(VHOST_USER_SET_VRING_KICK, &idx, 8, &kick, 1), 0);
	if (protocol_features)
		ck_assert_uint_eq(fe_state(VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
}

static void fe_setup_ring(int kick, int call)
{
	fe_setup_ring_with(kick, call, true);
}

START_TEST(test_features_offer_version_1_and_protocol_features)
{
	uint64_t f = fe_u64(VHOST_USER_GET_FEATURES);

	ck_assert(f & (1ull << VIRTIO_F_VERSION_1));
	ck_assert(f & (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
	f = fe_u64(VHOST_USER_GET_PROTOCOL_FEATURES);
	ck_assert(f & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK));
	ck_assert(f & (1ull << VHOST_USER_PROTOCOL_F_CONFIG));
	ck_assert(f & (1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ));
	ck_assert_uint_eq(fe_u64(VHOST_USER_GET_QUEUE_NUM), 1);
}
END_TEST

START_TEST(test_a_kick_runs_the_device_on_the_front_ends_memory_and_calls_back)
{
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t one = 1, calls = 0;

	fe_setup_ring(kick, call);
	ck_assert(virtio__driver_ok(&rng.vdev));
	memset(fe_ram + DATA_OFF, 0, 64);
	drv__desc(&d, 0, FE_GPA + DATA_OFF, 64, VRING_DESC_F_WRITE, 0);
	drv__post(&d, 0);
	ck_assert_int_eq(write(kick, &one, sizeof(one)), sizeof(one));
	ck_assert_int_ge(eventloop__run_once(&loop, 1000), 0);
	ck_assert_uint_eq(drv__used_idx(&d), 1);
	ck_assert_uint_eq(drv__used_len(&d, 0), 64);
	ck_assert_int_eq(read(call, &calls, sizeof(calls)), sizeof(calls));
	ck_assert_uint_ge(calls, 1);
	close(kick);
	close(call);
}
END_TEST

START_TEST(test_config_changes_go_out_on_the_backend_channel)
{
	uint64_t pf = 1ull << VHOST_USER_PROTOCOL_F_CONFIG |
		      1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK |
		      1ull << VHOST_USER_PROTOCOL_F_BACKEND_REQ;
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct vhost_user_hdr hdr;
	int sv[2];

	ck_assert_uint_eq(fe_acked(VHOST_USER_SET_PROTOCOL_FEATURES, &pf, 8, NULL, 0), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_uint_eq(fe_acked(VHOST_USER_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1), 0);
	close(sv[1]);
	be_peer = sv[0];
	fe_setup_ring(kick, call);
	pthread_mutex_lock(&rng.vdev.lock);
	virtio__config_changed(&rng.vdev);
	pthread_mutex_unlock(&rng.vdev.lock);
	ck_assert_int_eq(recv(be_peer, &hdr, sizeof(hdr), MSG_DONTWAIT), sizeof(hdr));
	ck_assert_uint_eq(hdr.request, VHOST_USER_BACKEND_CONFIG_CHANGE_MSG);
	ck_assert_uint_eq(hdr.flags, VHOST_USER_VERSION);
	ck_assert_uint_eq(hdr.size, 0);
	close(kick);
	close(call);
}
END_TEST

START_TEST(test_disabling_every_ring_resets_the_device_and_a_new_driver_starts_over)
{
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	fe_setup_ring(kick, call);
	ck_assert_uint_eq(fe_state(VHOST_USER_SET_VRING_ENABLE, 0, 0), 0);
	ck_assert_uint_eq(rng.vdev.status, 0);
	ck_assert_ptr_null(rng.vdev.vqs[0].desc);
	/* Module reload: the same sequence again works. */
	fe_setup_ring(kick, call);
	ck_assert(virtio__driver_ok(&rng.vdev));
	close(kick);
	close(call);
}
END_TEST

START_TEST(test_bad_memory_tables_are_refused)
{
	struct vhost_user_mem_table t = { .num = 1 };
	int fds[2] = { memfd, memfd };

	/* No file for the region. */
	t.regions[0] = (struct vhost_user_mem_region){ FE_GPA, FE_MEM_SIZE, FE_USER, 0 };
	ck_assert_uint_ne(fe_acked(VHOST_USER_SET_MEM_TABLE, &t, sizeof(t), NULL, 0), 0);
	/* Two files for one region. */
	ck_assert_uint_ne(fe_acked(VHOST_USER_SET_MEM_TABLE, &t, sizeof(t), fds, 2), 0);
	/* Past the guest's memory. */
	t.regions[0].guest_addr = FE_GPA + 0x1000;
	ck_assert_uint_ne(fe_acked(VHOST_USER_SET_MEM_TABLE, &t, sizeof(t), &memfd, 1), 0);
	/* Overlapping regions. */
	t.num = 2;
	t.regions[0].guest_addr = FE_GPA;
	t.regions[0].size = t.regions[1].size = 0x100000;
	t.regions[1].guest_addr = FE_GPA + 0x80000;
	t.regions[1].user_addr = FE_USER + 0x100000;
	ck_assert_uint_ne(fe_acked(VHOST_USER_SET_MEM_TABLE, &t, sizeof(t), fds, 2), 0);
	/* More regions than accord keeps. */
	t.num = GUEST_MEM_MAX_REGIONS + 1;
	ck_assert_uint_ne(fe_acked(VHOST_USER_SET_MEM_TABLE, &t, sizeof(t), fds, 2), 0);
	ck_assert_uint_eq(vhost_user__mem(&vu)->nr_regions, 0);
	/* The right one still works afterwards. */
	ck_assert_uint_eq(fe_mem_table(), 0);
	/* accord's own mapping of the same file: what the front end writes, the device reads. */
	memcpy(fe_ram + 16, "ring", 4);
	ck_assert_mem_eq(guest_mem__ptr(vhost_user__mem(&vu), FE_GPA + 16, 4), "ring", 4);
}
END_TEST

START_TEST(test_bad_ring_setup_is_refused)
{
	struct vhost_user_vring_addr outside = { 0, 0, FE_USER + FE_MEM_SIZE, FE_USER, FE_USER, 0 };
	uint64_t bad_index = 5, features = 1ull << VIRTIO_F_VERSION_1;

	ck_assert_uint_eq(fe_mem_table(), 0);
	ck_assert_uint_ne(fe_state(VHOST_USER_SET_VRING_NUM, 0, 3), 0);
	ck_assert_uint_ne(fe_state(VHOST_USER_SET_VRING_NUM, 0, 512), 0);
	ck_assert_uint_ne(fe_state(VHOST_USER_SET_VRING_NUM, 7, 8), 0);
	ck_assert_uint_ne(fe_acked(VHOST_USER_SET_VRING_ADDR, &outside, sizeof(outside), NULL, 0),
			  0);
	ck_assert_uint_ne(fe_acked(VHOST_USER_SET_VRING_KICK, &bad_index, 8, &memfd, 1), 0);
	/* Enabling before the features were set is out of order. */
	ck_assert_uint_ne(fe_state(VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
	/* Features the device does not offer. */
	features |= 1ull << 50;
	ck_assert_uint_ne(fe_acked(VHOST_USER_SET_FEATURES, &features, 8, NULL, 0), 0);
	ck_assert(!virtio__driver_ok(&rng.vdev));
	ck_assert_uint_ne(fe_acked(99, NULL, 0, NULL, 0), 0);
}
END_TEST

START_TEST(test_a_config_read_outside_the_space_gets_an_empty_answer)
{
	struct vhost_user_config c = { .offset = 0, .size = 16 };
	struct vhost_user_config reply;

	fe_send(VHOST_USER_GET_CONFIG, 0, &c, 12 + 16, NULL, 0);
	ck_assert_uint_eq(fe_reply(VHOST_USER_GET_CONFIG, &reply, sizeof(reply)), 12);
	ck_assert_uint_eq(reply.size, 0);
}
END_TEST

START_TEST(test_a_front_end_that_breaks_framing_is_dropped)
{
	struct vhost_user_hdr big = { VHOST_USER_SET_OWNER, VHOST_USER_VERSION, 1u << 20 };
	struct vhost_user_hdr ver = { VHOST_USER_SET_OWNER, 2, 0 };

	ck_assert_int_eq(send(fe, &big, sizeof(big), 0), sizeof(big));
	ck_assert_int_lt(vhost_user__handle_one(&vu), 0);
	ck_assert_int_eq(vu.conn.fd, -1);
	/* Reconnect and break the version instead. */
	{
		int sv[2];

		close(fe);
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		fe = sv[0];
		ck_assert_int_eq(vhost_user__attach(&vu, sv[1]), 0);
	}
	ck_assert_int_eq(send(fe, &ver, sizeof(ver), 0), sizeof(ver));
	ck_assert_int_lt(vhost_user__handle_one(&vu), 0);
	ck_assert_int_eq(vu.conn.fd, -1);
}
END_TEST

START_TEST(test_the_front_end_going_away_resets_the_device_and_unmaps_its_memory)
{
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	fe_setup_ring(kick, call);
	close(fe);
	fe = -1;
	ck_assert_int_eq(vhost_user__handle_one(&vu), -ECONNRESET);
	ck_assert_uint_eq(rng.vdev.status, 0);
	ck_assert_uint_eq(vhost_user__mem(&vu)->nr_regions, 0);
	fe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0); /* for teardown */
	close(kick);
	close(call);
}
END_TEST

START_TEST(test_a_kick_file_that_is_not_an_eventfd_is_refused)
{
	uint64_t idx = 0;

	ck_assert_uint_eq(fe_mem_table(), 0);
	ck_assert_uint_ne(fe_acked(VHOST_USER_SET_VRING_KICK, &idx, 8, &memfd, 1), 0);
	ck_assert_int_eq(vu.vrings[0].kick.fd, -1);
}
END_TEST

START_TEST(test_a_device_that_needs_a_reset_drops_the_front_end)
{
	int kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	fe_setup_ring(kick, call);
	/* A new memory table under running rings: the driver broke the rules. */
	ck_assert_uint_ne(fe_mem_table(), 0);
	ck_assert(rng.vdev.status == 0 || (rng.vdev.status & VIRTIO_CONFIG_S_NEEDS_RESET));
	/* virtio_uml cannot see NEEDS_RESET: it sees its connection go instead. */
	ck_assert_int_eq(vu.conn.fd, -1);
	close(kick);
	close(call);
}
END_TEST

/*
 * Without protocol features a kick file starts its ring; a later one only
 * replaces the file. It used to restart the ring at the base it began from,
 * so the device completed the driver's chains a second time (caught by
 * fuzz_vhost_user's check that no message moves a running ring).
 */
START_TEST(test_a_new_kick_file_does_not_rewind_a_running_ring)
{
	int kick = eventfd(0, EFD_CLOEXEC), kick2 = eventfd(0, EFD_CLOEXEC),
	    call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t idx = 0, one = 1;

	fe_setup_ring_with(kick, call, false);
	ck_assert(virtio__driver_ok(&rng.vdev));
	drv__desc(&d, 0, FE_GPA + DATA_OFF, 64, VRING_DESC_F_WRITE, 0);
	drv__post(&d, 0);
	ck_assert_int_eq(write(kick, &one, sizeof(one)), sizeof(one));
	ck_assert_int_ge(eventloop__run_once(&loop, 1000), 0);
	ck_assert_uint_eq(drv__used_idx(&d), 1);
	/* The front end replaces the kick file of the running ring. */
	ck_assert_uint_eq(fe_acked(VHOST_USER_SET_VRING_KICK, &idx, 8, &kick2, 1), 0);
	ck_assert_uint_eq(rng.vdev.vqs[0].last_avail, 1);
	ck_assert_int_eq(write(kick2, &one, sizeof(one)), sizeof(one));
	ck_assert_int_ge(eventloop__run_once(&loop, 1000), 0);
	ck_assert_uint_eq(drv__used_idx(&d), 1);
	close(kick);
	close(kick2);
	close(call);
}
END_TEST

Suite *vhost_user_suite(void)
{
	Suite *s = suite_create("vhost-user");
	TCase *tc = tcase_create("device side");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_features_offer_version_1_and_protocol_features);
	tcase_add_test(tc, test_a_kick_runs_the_device_on_the_front_ends_memory_and_calls_back);
	tcase_add_test(tc, test_config_changes_go_out_on_the_backend_channel);
	tcase_add_test(tc,
		       test_disabling_every_ring_resets_the_device_and_a_new_driver_starts_over);
	tcase_add_test(tc, test_bad_memory_tables_are_refused);
	tcase_add_test(tc, test_bad_ring_setup_is_refused);
	tcase_add_test(tc, test_a_config_read_outside_the_space_gets_an_empty_answer);
	tcase_add_test(tc, test_a_front_end_that_breaks_framing_is_dropped);
	tcase_add_test(tc, test_the_front_end_going_away_resets_the_device_and_unmaps_its_memory);
	tcase_add_test(tc, test_a_kick_file_that_is_not_an_eventfd_is_refused);
	tcase_add_test(tc, test_a_device_that_needs_a_reset_drops_the_front_end);
	tcase_add_test(tc, test_a_new_kick_file_does_not_rewind_a_running_ring);
	suite_add_tcase(s, tc);
	return s;
}
