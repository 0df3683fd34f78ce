/*
 * Makes the calls that the preloaded shim performs and prints one line per
 * call with everything the caller can see of its result, so that a run
 * under the core can be compared with a bare run.
 *
 * Usage: fast-path OP PATH... where OP is realpath, open, stat, lstat,
 * access or all; or fast-path repeat N PATH (realpath N times); fork PATH;
 * threads N PATH; signals N PATH (N stats while a timer's handler stats
 * too); exec-fails PROGRAM (realpath, a failing exec of PROGRAM, realpath
 * again); exec PATH (realpath of /usr/bin, then exec realpath PATH);
 * abort PATH (stat PATH 3 times, then abort); bad-pointer (calls with
 * an unmapped path; give any PATH); realpath-buffer PATH...
 * (what a failed realpath leaves in the buffer); forge TID (writes a
 * record naming TID into a ring of its own); shrink (tries to shrink its
 * ring; give any PATH); fifo PATH (opens a FIFO from two threads); rawfork PATH (a child
 * of the raw fork syscall calls access on PATH-1 and PATH-2, after the
 * parent on PATH-0); list PATH... (opens each
 * with O_DIRECTORY and prints its entry count); trampoline-create PATH;
 * trampoline-unlink PATH.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim-abi.h"

static void show_realpath(const char *path)
{
	char buf[PATH_MAX];
	char *into;
	char *allocated;
	int err_into, err_allocated;

	errno = 0;
	into = realpath(path, buf);
	err_into = errno;
	errno = 0;
	allocated = realpath(path, NULL);
	err_allocated = errno;
	printf("realpath %s -> %s (%s) | %s (%s)\n", path,
	       into ? into : "NULL", into ? "ok" : strerror(err_into),
	       allocated ? allocated : "NULL",
	       allocated ? "ok" : strerror(err_allocated));
	free(allocated);
}

static void show_stat(const char *op, int rc, int err, const struct stat *st)
{
	if (rc != 0) {
		printf(" %s=%s", op, strerror(err));
		return;
	}
	printf(" %s=mode:%o,size:%lld,ino:%llu,mtime:%lld.%09ld,ctime:%lld", op,
	       st->st_mode, (long long)st->st_size,
	       (unsigned long long)st->st_ino, (long long)st->st_mtim.tv_sec,
	       st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec);
}

static void show_files(const char *op, const char *path)
{
	struct stat st;
	int rc;

	printf("%s %s:", op, path);
	if (strcmp(op, "open") == 0 || strcmp(op, "all") == 0) {
		int fd = open(path, O_RDONLY | O_NOCTTY);
		char head[12] = "";
		ssize_t n;

		if (fd < 0) {
			printf(" open=%s", strerror(errno));
		} else {
			n = read(fd, head, sizeof(head) - 1);
			for (ssize_t i = 0; i < n; i++)
				if (head[i] < 32 || head[i] > 126)
					head[i] = '.';
			printf(" open=ok,read:%s", n > 0 ? head : "");
			rc = fstat(fd, &st);
			show_stat("fstat", rc, errno, &st);
			close(fd);
		}
	}
	if (strcmp(op, "stat") == 0 || strcmp(op, "all") == 0) {
		rc = stat(path, &st);
		show_stat("stat", rc, errno, &st);
	}
	if (strcmp(op, "lstat") == 0 || strcmp(op, "all") == 0) {
		rc = lstat(path, &st);
		show_stat("lstat", rc, errno, &st);
	}
	if (strcmp(op, "access") == 0 || strcmp(op, "all") == 0) {
		rc = access(path, R_OK);
		printf(" access=%s", rc == 0 ? "ok" : strerror(errno));
	}
	printf("\n");
	if (strcmp(op, "all") == 0)
		show_realpath(path);
}

static const char *thread_path;

static void *resolve_many(void *unused)
{
	char buf[PATH_MAX];

	(void)unused;
	for (int i = 0; i < 50; i++)
		if (!realpath(thread_path, buf))
			return (void *)1;
	return NULL;
}

static volatile sig_atomic_t handled;

static void stat_in_handler(int signal)
{
	struct stat st;

	(void)signal;
	if (stat(thread_path, &st) == 0)
		handled++;
}

static void *open_fifo_for_reading(void *path)
{
	int fd = open(path, O_RDONLY);

	return (void *)(intptr_t)fd;
}

/* Asks the core for a ring with the shim's own request. */
static struct shim_ring *own_ring(int *fd_out)
{
	long fd = syscall(SYS_readlinkat, SHIM_DIRFD, NULL, NULL, SHIM_REQUEST_REGISTER);
	void *map;

	if (fd < 0)
		return NULL;
	map = mmap(NULL, sizeof(struct shim_ring), PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	*fd_out = (int)fd;
	return map == MAP_FAILED ? NULL : map;
}

typedef long (*trampoline_fn)(long nr, long a1, long a2, long a3, long a4);

/* Calls the shim's trampoline directly, as a program that wants to slip
 * past the core would. */
static long through_trampoline(long nr, long a1, long a2, long a3, long a4)
{
	char buf[PATH_MAX];
	trampoline_fn fn = (trampoline_fn)(uintptr_t)SHIM_TRAMPOLINE_ADDR;

	/* The shim maps the page on its first use. */
	if (!realpath("/", buf))
		return -1000;
	return fn(nr, a1, a2, a3, a4);
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: fast-path OP PATH...\n");
		return 2;
	}
	if (strcmp(argv[1], "repeat") == 0) {
		int n = atoi(argv[2]);
		char buf[PATH_MAX];

		for (int i = 0; i < n; i++)
			if (!realpath(argv[3], buf))
				return 1;
		printf("resolved %d times\n", n);
		return 0;
	}
	if (strcmp(argv[1], "fork") == 0) {
		pid_t child;
		int status;

		show_realpath(argv[2]);
		fflush(stdout);
		child = fork();
		if (child == 0) {
			show_realpath(argv[2]);
			fflush(stdout);
			_exit(0);
		}
		waitpid(child, &status, 0);
		show_realpath(argv[2]);
		printf("child %d\n", (int)child);
		return 0;
	}
	if (strcmp(argv[1], "threads") == 0) {
		int n = atoi(argv[2]);
		pthread_t threads[16];
		int failed = 0;

		thread_path = argv[3];
		for (int i = 0; i < n && i < 16; i++)
			pthread_create(&threads[i], NULL, resolve_many, NULL);
		for (int i = 0; i < n && i < 16; i++) {
			void *result;

			pthread_join(threads[i], &result);
			failed += result != NULL;
		}
		printf("threads %d failed %d\n", n, failed);
		return 0;
	}
	if (strcmp(argv[1], "exec-fails") == 0) {
		char *args[] = { argv[2], NULL };

		show_realpath("/usr/bin");
		execv(argv[2], args);
		printf("exec failed: %s\n", strerror(errno));
		show_realpath("/usr/lib");
		return 0;
	}
	if (strcmp(argv[1], "exec") == 0) {
		char *args[] = { argv[0], "realpath", argv[2], NULL };

		show_realpath("/usr/bin");
		fflush(stdout);
		execv("/proc/self/exe", args);
		return 1;
	}
	if (strcmp(argv[1], "bad-pointer") == 0) {
		/* Address 16 is never mapped. */
		const char *bad = (const char *)16;
		struct stat st;

		printf("access %s\n", access(bad, F_OK) == 0 ? "ok" : strerror(errno));
		printf("stat %s\n", stat(bad, &st) == 0 ? "ok" : strerror(errno));
		printf("open %s\n", open(bad, O_RDONLY) >= 0 ? "ok" : strerror(errno));
		return 0;
	}
	if (strcmp(argv[1], "realpath-buffer") == 0) {
		for (int i = 2; i < argc; i++) {
			char buf[PATH_MAX] = "untouched";
			char *r;

			errno = 0;
			r = realpath(argv[i], buf);
			printf("%s -> %s, buffer %s\n", argv[i], r ? "ok" : strerror(errno), buf);
		}
		return 0;
	}
	if (strcmp(argv[1], "forge") == 0) {
		int fd;
		struct shim_ring *r = own_ring(&fd);
		struct shim_slot *slot;

		if (!r)
			return 3;
		slot = &r->slots[r->facts.head % SHIM_SLOTS];
		slot->tid = atoi(argv[2]);
		slot->ts = 1;
		slot->op = SHIM_OP_READLINK;
		slot->result = -22;
		slot->path_len = 2;
		slot->abspath_len = 2;
		memcpy(slot->data, "/x\0/x", 6);
		slot->seq = r->facts.head + 1;
		r->facts.head++;
		/* A notified call (a relative path) makes the core read the
		 * ring. */
		access("relative-name", F_OK);
		printf("forged\n");
		return 0;
	}
	if (strcmp(argv[1], "shrink") == 0) {
		int fd;
		struct shim_ring *r = own_ring(&fd);

		if (!r)
			return 3;
		printf("ftruncate %s\n", ftruncate(fd, 0) == 0 ? "ok" : strerror(errno));
		fflush(stdout);
		printf("open %s\n", open("/usr/bin/env", O_RDONLY) >= 0 ? "ok" : strerror(errno));
		return 0;
	}
	if (strcmp(argv[1], "fifo") == 0) {
		pthread_t reader;
		void *result;
		int fd;

		pthread_create(&reader, NULL, open_fifo_for_reading, argv[2]);
		usleep(100000);
		printf("access %d\n", access(argv[2], F_OK));
		fd = open(argv[2], O_WRONLY);
		pthread_join(reader, &result);
		printf("writer %s, reader %s\n", fd >= 0 ? "open" : strerror(errno),
		       (intptr_t)result >= 0 ? "open" : "failed");
		return 0;
	}
	if (strcmp(argv[1], "rawfork") == 0) {
		char name[PATH_MAX];
		long child;

		/* The parent's ring first, which the child inherits. */
		snprintf(name, sizeof(name), "%s-0", argv[2]);
		access(name, F_OK);
		child = syscall(SYS_fork);

		if (child == 0) {
			usleep(200000);
			for (int i = 1; i <= 2; i++) {
				snprintf(name, sizeof(name), "%s-%d", argv[2], i);
				access(name, F_OK);
			}
			_exit(0);
		}
		printf("forked\n");
		return 0;
	}
	if (strcmp(argv[1], "list") == 0) {
		for (int i = 2; i < argc; i++) {
			int fd = open(argv[i], O_RDONLY | O_DIRECTORY);
			DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
			int entries = 0;

			if (!dir) {
				printf("list %s: %s\n", argv[i], strerror(errno));
				continue;
			}
			while (readdir(dir))
				entries++;
			closedir(dir);
			printf("list %s: %d entries\n", argv[i], entries);
		}
		return 0;
	}
	if (strcmp(argv[1], "abort") == 0) {
		struct stat st;

		for (int i = 0; i < 3; i++)
			stat(argv[2], &st);
		abort();
	}
	if (strcmp(argv[1], "signals") == 0) {
		int n = atoi(argv[2]);
		struct itimerval every = { { 0, 50 }, { 0, 50 } };
		struct itimerval off = { { 0, 0 }, { 0, 0 } };
		struct sigaction action = { .sa_handler = stat_in_handler,
					    .sa_flags = SA_RESTART };
		char buf[PATH_MAX];
		struct stat st;

		thread_path = argv[3];
		sigaction(SIGALRM, &action, NULL);
		setitimer(ITIMER_REAL, &every, NULL);
		for (int i = 0; i < n; i++)
			if (stat(argv[3], &st) != 0 || !realpath(argv[3], buf))
				return 1;
		setitimer(ITIMER_REAL, &off, NULL);
		printf("signals done, handler ran: %s\n", handled > 0 ? "yes" : "no");
		return 0;
	}
	if (strcmp(argv[1], "trampoline-create") == 0) {
		long rc = through_trampoline(SYS_openat, AT_FDCWD, (long)argv[2],
					     O_WRONLY | O_CREAT, 0644);

		printf("openat %s\n", rc >= 0 ? "ok" : strerror((int)-rc));
		return 0;
	}
	if (strcmp(argv[1], "trampoline-unlink") == 0) {
		long rc = through_trampoline(SYS_unlinkat, AT_FDCWD, (long)argv[2],
					     0, 0);

		printf("unlinkat %s\n", rc >= 0 ? "ok" : strerror((int)-rc));
		return 0;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[1], "realpath") == 0)
			show_realpath(argv[i]);
		else
			show_files(argv[1], argv[i]);
	}
	return 0;
}
