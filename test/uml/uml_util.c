// SPDX-License-Identifier: MIT
#include <check.h>
#include <dirent.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accord/base64.h"
#include "uml_util.h"

char *uml_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	size_t cap = 65536, len = 0, n;
	char *buf = malloc(cap + 1), *to;

	ck_assert_ptr_nonnull(buf);
	while (f && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap + 1);
			ck_assert_ptr_nonnull(buf);
		}
	}
	if (f)
		fclose(f);
	buf[len] = '\0';
	to = buf;
	for (const char *from = buf; *from; from++)
		if (*from != '\r')
			*to++ = *from;
	*to = '\0';
	return buf;
}

char *uml_base64(const char *in)
{
	size_t len = strlen(in);
	char *out = malloc(BASE64_ENCODED_SIZE(len));

	ck_assert_ptr_nonnull(out);
	base64__encode(in, len, out);
	return out;
}

double uml_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

void uml_remove_tree(const char *dir)
{
	nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

bool uml_group_left(pid_t pgid, int grace_ms)
{
	bool left;

	for (int i = 0; i < grace_ms / 10 && kill(-pgid, 0) == 0; i++)
		usleep(10 * 1000);
	left = kill(-pgid, 0) == 0;
	for (int i = 0; i < 500 && kill(-pgid, 0) == 0; i++) {
		kill(-pgid, SIGKILL);
		usleep(10 * 1000);
	}
	ck_assert_msg(kill(-pgid, 0) != 0, "UML's processes survive SIGKILL");
	return left;
}

pid_t uml_kernel_pid(pid_t accord)
{
	char path[64], file[352]; /* path, a task id (d_name), "/children" */
	struct dirent *e;
	pid_t pid = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)accord);
	d = opendir(path);
	if (!d)
		return 0;
	while (!pid && (e = readdir(d))) {
		FILE *f;
		int child;

		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s/children", path, e->d_name);
		f = fopen(file, "r");
		if (!f)
			continue;
		if (fscanf(f, "%d", &child) == 1)
			pid = child;
		fclose(f);
	}
	closedir(d);
	return pid > 0 && getpgid(pid) == pid ? pid : 0;
}

bool uml_group_running(pid_t pgid)
{
	struct dirent *e;
	bool running = false;
	DIR *d = opendir("/proc");

	ck_assert_ptr_nonnull(d);
	while (!running && (e = readdir(d))) {
		char path[300], line[512], state;
		const char *end;
		int group;
		FILE *f;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		/* "PID (COMM) STATE PPID PGRP ...": COMM may hold spaces and parentheses. */
		if (fgets(line, sizeof(line), f) && (end = strrchr(line, ')')) &&
		    sscanf(end + 1, " %c %*d %d", &state, &group) == 2)
			running = group == pgid && state != 'Z' && state != 'X';
		fclose(f);
	}
	closedir(d);
	return running;
}
