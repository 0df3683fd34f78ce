/*
 * libuwrx-shim.so: the in-process fast path of uwrx-core, preloaded into
 * every dynamically linked program of a run.
 *
 * realpath() makes one readlink per path component, and compilers call it
 * for every include directory they search: in a C build those readlinks
 * are most of all file calls. Each would cost a round trip through the
 * core. The shim resolves the path itself, makes the readlinks through
 * the trampoline that the filter lets pass, and leaves records of them
 * in a ring that the core copies into the trace (see ../shim-abi.h).
 *
 * It takes the fast path only where the real file system gives the same
 * result as the merged view: for a path whose top-level directory no
 * layer above the base contains, outside /proc, /dev and /sys. Everything
 * else takes the notified path, where the core applies the layers. Every
 * readlink the shim makes is on a path whose directories it has already
 * resolved, so no symlink can lead the kernel out of that subtree.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "../shim-abi.h"

#define EXPORT __attribute__((visibility("default")))

/* Room for the program's path in a record, which also contains the path
 * that the shim resolved it to. */
#define SHIM_PATH_COPY (SHIM_SLOT_DATA / 2 - 1)

/* Linux follows at most 40 symlinks in one lookup, and so does glibc's
 * realpath. */
#define MAX_LINKS 40

/* The ring that the core gave this process image (a shared mapping),
 * NULL before registration, and the process that registered it. */
static struct shim_ring *ring;
static pid_t ring_pid;
/* The caller's thread id, read once per thread. Only the process that
 * registered the ring writes records (shim_active_as checks the pid), so
 * a vfork child, which shares this storage, never uses a stale one. A
 * forked child starts over in after_fork_in_child. */
static __thread int32_t cached_tid;

enum { UNKNOWN, ACTIVE, OFF };
static int state = UNKNOWN;
static int lock;
/* Survives fork, as the mapping does. */
static bool trampoline_mapped;


typedef long (*trampoline_fn)(long nr, long a1, long a2, long a3, long a4);

/*
 * Moves the arguments of a C call into the registers of a syscall:
 * mov rax,rdi; mov rdi,rsi; mov rsi,rdx; mov rdx,rcx; mov r10,r8;
 * syscall; ret. The syscall instruction ends at byte 17; shim-abi.h
 * names that address for the filter.
 */
static const unsigned char trampoline_code[] = {
	0x48, 0x89, 0xf8, 0x48, 0x89, 0xf7, 0x48, 0x89, 0xd6,
	0x48, 0x89, 0xca, 0x4d, 0x89, 0xc2, 0x0f, 0x05, 0xc3,
};

/* Set while the thread holds the lock: a signal handler that calls
 * open() or stat() then takes the notified path instead of waiting for a
 * lock that its own thread holds. */
static __thread int in_shim;

/* Takes the ring's lock. Returns false when this thread holds it already. */
static bool enter(void)
{
	if (in_shim)
		return false;
	in_shim = 1;
	while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
		sched_yield();
	return true;
}

static void leave(void)
{
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
	in_shim = 0;
}

static long fast_call(long nr, long a1, long a2, long a3, long a4)
{
	trampoline_fn fn = (trampoline_fn)(uintptr_t)SHIM_TRAMPOLINE_ADDR;

	return fn(nr, a1, a2, a3, a4);
}

static bool map_trampoline(void)
{
	void *page;

	if (trampoline_mapped)
		return true;
	page = mmap((void *)(uintptr_t)SHIM_TRAMPOLINE_ADDR, 4096,
		    PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (page == MAP_FAILED)
		return false;
	if (page != (void *)(uintptr_t)SHIM_TRAMPOLINE_ADDR) {
		/* A kernel older than 4.17 treats the flag as a hint. */
		munmap(page, 4096);
		return false;
	}
	memcpy(page, trampoline_code, sizeof(trampoline_code));
	if (mprotect(page, 4096, PROT_READ | PROT_EXEC) != 0) {
		munmap(page, 4096);
		return false;
	}
	trampoline_mapped = true;
	return true;
}

/*
 * Registers with the core, once per process image and fork. The core
 * returns an fd of the ring, which the shim maps and closes again.
 */
static bool shim_active_as(pid_t *self)
{
	int current = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
	long fd = -1;
	void *map = MAP_FAILED;

	*self = (pid_t)syscall(SYS_getpid);
	/* A child that shares this memory (vfork, or clone without fork())
	 * or that forked without the atfork handlers must leave the ring,
	 * and all shared state, to the process that registered it. */
	if (current == ACTIVE)
		return *self == ring_pid;
	if (current != UNKNOWN)
		return false;
	if (!enter())
		return false;
	if (state == UNKNOWN) {
		if (map_trampoline())
			fd = syscall(SYS_readlinkat, SHIM_DIRFD, NULL, NULL,
				     SHIM_REQUEST_REGISTER);
		if (fd >= 0) {
			map = mmap(NULL, sizeof(struct shim_ring),
				   PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
			close((int)fd);
		}
		if (map != MAP_FAILED &&
		    ((struct shim_ring *)map)->magic == SHIM_ABI_MAGIC &&
		    ((struct shim_ring *)map)->facts.state == SHIM_ACTIVE) {
			ring = map;
			ring_pid = *self;
			__atomic_store_n(&state, ACTIVE, __ATOMIC_RELEASE);
		} else {
			if (map != MAP_FAILED)
				munmap(map, sizeof(struct shim_ring));
			__atomic_store_n(&state, OFF, __ATOMIC_RELEASE);
		}
	}
	leave();
	return state == ACTIVE;
}

/* shim_active_as() for callers that need no pid. */
static bool shim_active(void)
{
	pid_t self;

	return shim_active_as(&self);
}

/* A forked child has its parent's ring, which the core reads as the
 * parent's. */
static void after_fork_in_child(void)
{
	/* The mapping is shared with the parent: the child must not write
	 * into it, and gets its own ring when it first needs one. */
	if (ring)
		munmap(ring, sizeof(struct shim_ring));
	ring = NULL;
	cached_tid = 0;
	state = UNKNOWN;
	lock = 0;
}

__attribute__((constructor)) static void shim_init(void)
{
	pthread_atfork(NULL, NULL, after_fork_in_child);
}

static bool parent_layer_holds(const char *name, size_t len)
{
	const char *p = ring->facts.parent_names;
	const char *end = ring->facts.parent_names + sizeof(ring->facts.parent_names);

	while (p < end && *p) {
		size_t n = strnlen(p, (size_t)(end - p));

		if (n == len && memcmp(p, name, len) == 0)
			return true;
		p += n + 1;
	}
	return false;
}

/*
 * Tells whether the real file system gives the merged view's result for
 * every path under the top-level directory NAME (LEN bytes). That is so
 * when no layer above the base contains an entry of that name, whiteouts
 * included, and it is not a kernel tree whose links the core translates.
 */
static bool base_answers_for(const char *name, size_t len)
{
	char host[sizeof(ring->facts.upper) + NAME_MAX + 2];
	struct stat st;
	long rc;

	if ((len == 4 && memcmp(name, "proc", 4) == 0) ||
	    (len == 3 && (memcmp(name, "dev", 3) == 0 || memcmp(name, "sys", 3) == 0)))
		return false;
	if (len > NAME_MAX || parent_layer_holds(name, len))
		return false;
	if (ring->facts.upper_len == 0)
		return true;
	if (ring->facts.upper_len >= sizeof(ring->facts.upper))
		return false;
	memcpy(host, ring->facts.upper, ring->facts.upper_len);
	host[ring->facts.upper_len] = '/';
	memcpy(host + ring->facts.upper_len + 1, name, len);
	host[ring->facts.upper_len + 1 + len] = '\0';
	rc = fast_call(SYS_newfstatat, AT_FDCWD, (long)host, (long)&st,
		       AT_SYMLINK_NOFOLLOW);
	return rc == -ENOENT;
}

static int32_t current_tid(void)
{
	if (!cached_tid)
		cached_tid = (int32_t)syscall(SYS_gettid);
	return cached_tid;
}

/* Appends the record of a call. The caller holds the lock and has made
 * sure that the ring has room. */
static void record_call(enum shim_op op, const char *path, size_t path_len,
			const char *abspath, size_t abspath_len, int flags,
			long result)
{
	struct shim_slot *slot = &ring->slots[ring->facts.head % SHIM_SLOTS];
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	slot->tid = current_tid();
	slot->ts = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	slot->op = op;
	slot->result = (int32_t)result;
	slot->path_len = (uint32_t)path_len;
	slot->abspath_len = (uint32_t)abspath_len;
	slot->flags = flags;
	memcpy(slot->data, path, path_len);
	slot->data[path_len] = '\0';
	memcpy(slot->data + path_len + 1, abspath, abspath_len);
	slot->data[path_len + 1 + abspath_len] = '\0';
	__atomic_store_n(&slot->seq, ring->facts.head + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&ring->facts.head, ring->facts.head + 1, __ATOMIC_RELEASE);
}

/* Makes room in the ring. Returns false when the core did not drain it. */
static bool ring_has_room(void)
{
	uint32_t tail = __atomic_load_n(&ring->facts.tail, __ATOMIC_ACQUIRE);

	if (ring->facts.head - tail < SHIM_SLOTS)
		return true;
	if (syscall(SYS_readlinkat, SHIM_DIRFD, NULL, NULL, SHIM_REQUEST_DRAIN) != 0) {
		/* The core no longer reads this ring: stop filling it. */
		__atomic_store_n(&state, OFF, __ATOMIC_RELEASE);
		return false;
	}
	tail = __atomic_load_n(&ring->facts.tail, __ATOMIC_ACQUIRE);
	return ring->facts.head - tail < SHIM_SLOTS;
}

/*
 * Performs readlink of PATH, an absolute path without "." or ".." whose
 * directories are no symlinks. FAST is true when the base gives the
 * merged view's result for it. Returns the length of the target or -errno.
 */
static long read_link(const char *path, bool fast, char *target, size_t size)
{
	size_t path_len = strlen(path);
	long rc;

	if (fast && 2 * path_len + 2 <= SHIM_SLOT_DATA && enter()) {
		if (ring_has_room()) {
			rc = fast_call(SYS_readlinkat, AT_FDCWD, (long)path,
				       (long)target, (long)size);
			record_call(SHIM_OP_READLINK, path, path_len, path,
				    path_len, 0, rc);
			leave();
			return rc;
		}
		leave();
	}
	rc = syscall(SYS_readlink, path, target, size);
	return rc < 0 ? -errno : rc;
}

/* Base directories whose every component is known to be no symlink. */
#define VERIFIED_DIRS 64
#define VERIFIED_DIR_MAX 256
static char verified_dirs[VERIFIED_DIRS][VERIFIED_DIR_MAX];
static unsigned verified_next;

static bool dir_verified(const char *dir, size_t len)
{
	for (unsigned i = 0; i < VERIFIED_DIRS; i++)
		if (strncmp(verified_dirs[i], dir, len) == 0 &&
		    verified_dirs[i][len] == '\0')
			return true;
	return false;
}

/*
 * Remembers DIR. Only with layers: the base is then read-only to the
 * whole run, so no directory of it can turn into a symlink. Called under
 * the lock.
 */
static void remember_dir(const char *dir, size_t len)
{
	if (ring->facts.upper_len == 0 || len >= VERIFIED_DIR_MAX || len == 0)
		return;
	memcpy(verified_dirs[verified_next % VERIFIED_DIRS], dir, len);
	verified_dirs[verified_next % VERIFIED_DIRS][len] = '\0';
	verified_next++;
}

/* Returns the next name of a path at *REST and moves *REST past it, or
 * NULL at the end. */
static const char *next_name(const char **rest, size_t *len)
{
	const char *name;

	while (**rest == '/')
		(*rest)++;
	if (**rest == '\0')
		return NULL;
	name = *rest;
	while (**rest && **rest != '/')
		(*rest)++;
	*len = (size_t)(*rest - name);
	return name;
}

/*
 * Looks at the name OUT (LEN bytes, absolute) with a readlink through the
 * trampoline. With DIRECTORY it looks at OUT followed by a slash, so that
 * only a directory passes. Returns -EINVAL for an existing name that is
 * no symlink (a directory, with DIRECTORY), else what readlink returned.
 */
static long look_at(char *out, size_t len, bool directory)
{
	char target[8];
	long rc;

	if (directory) {
		out[len] = '/';
		out[len + 1] = '\0';
	}
	rc = fast_call(SYS_readlinkat, AT_FDCWD, (long)out, (long)target,
		       sizeof(target));
	out[len] = '\0';
	return rc;
}

/*
 * Walks the absolute PATH as the kernel would and writes the path it
 * reaches into OUT (SHIM_SLOT_DATA bytes), without "." or "..". Returns
 * its length, or 0 when the notified path must decide: a symlink on the
 * way, a top-level directory that a layer above the base touches, or a
 * path too long for a record. Each name before the last exists and is
 * no symlink, so the kernel's walk of OUT stays where the merged view's
 * would go and gives the same answer. When a name before the last is
 * missing (or no directory), the kernel's walk fails there: *ERROR is
 * then ENOENT or ENOTDIR as a negative number, OUT the rest of PATH
 * joined lexically, and the call needs no syscall. Called under the lock.
 *
 * Without CHECK_LAST the last name is not looked at: the caller's own
 * call then must not follow a symlink there (lstat, or open with
 * O_NOFOLLOW), and passes its result to last_name_seen(). *PARENT_LEN is
 * the length of OUT's directory part.
 */
static size_t resolve_walk(const char *path, char *out, long *error,
			   bool check_last, size_t *parent_out)
{
	size_t len = 0, parent_len = 0;
	const char *rest = path;

	*error = 0;
	out[0] = '\0';
	for (;;) {
		size_t name_len;
		const char *name = next_name(&rest, &name_len);
		long rc;

		if (!name)
			break;
		if (name[0] == '.' && (name_len == 1 || (name_len == 2 && name[1] == '.'))) {
			/* "x/." and "x/.." need x to be a directory. */
			if (!*error && len > 0 && !dir_verified(out, len) &&
			    look_at(out, len, true) != -EINVAL)
				return 0;
			if (name_len == 2)
				while (len > 0 && out[--len] != '/')
					;
			out[len] = '\0';
			continue;
		}
		if (len + 1 + name_len + 2 > SHIM_SLOT_DATA / 2)
			return 0;
		if (!*error && len == 0 && !base_answers_for(name, name_len))
			return 0;
		parent_len = len;
		out[len++] = '/';
		memcpy(out + len, name, name_len);
		len += name_len;
		out[len] = '\0';
		if (*error || dir_verified(out, len))
			continue;
		/* The kernel follows a symlink before a trailing slash even
		 * without AT_SYMLINK_NOFOLLOW, so such a name is looked at. */
		if (!check_last && *rest == '\0')
			break;
		rc = look_at(out, len, false);
		if (rc >= 0)
			return 0; /* a symlink */
		/* A name looked up in it makes the parent a directory. */
		if ((rc == -EINVAL || rc == -ENOENT) && parent_len > 0 &&
		    !dir_verified(out, parent_len))
			remember_dir(out, parent_len);
		if (rc == -ENOENT || rc == -ENOTDIR) {
			/* A missing last name is the call's own result. */
			if (strspn(rest, "/") != strlen(rest))
				*error = rc;
		} else if (rc != -EINVAL) {
			return 0;
		}
	}
	*parent_out = parent_len;
	/* The root merges the top-level names of every layer, so the core
	 * handles it. */
	if (len == 0)
		return 0;
	/* A trailing slash makes the kernel require a directory. The call
	 * keeps it, and the record drops it (record_len), as the core does. */
	if (rest[-1] == '/') {
		out[len++] = '/';
		out[len] = '\0';
	}
	return len;
}

/* Remembers the directory of OUT once a call on its last name that did
 * not follow a symlink there found the name, or found it missing. */
static void last_name_seen(const char *out, size_t parent_len, long result)
{
	if (parent_len > 0 && (result >= 0 || result == -ENOENT) &&
	    !dir_verified(out, parent_len))
		remember_dir(out, parent_len);
}

/* The length of ABSPATH in a record: without a trailing slash. */
static size_t record_len(const char *abspath, size_t len)
{
	return len > 1 && abspath[len - 1] == '/' ? len - 1 : len;
}

/* Files that the fast path opened: fstat of such an fd needs no core. */
#define KNOWN_FDS 1024
static struct known_fd {
	uint64_t dev;
	uint64_t ino;
} known_fds[KNOWN_FDS];

/* Reports base file times as the core does under --seed: no later than
 * T0, so that every file this run writes is newer. */
static void clamp_time(struct timespec *ts)
{
	int64_t sec = ring->facts.t0_ns / 1000000000;
	long nsec = (long)(ring->facts.t0_ns % 1000000000);

	if (ts->tv_sec > sec || (ts->tv_sec == sec && ts->tv_nsec > nsec)) {
		ts->tv_sec = sec;
		ts->tv_nsec = nsec;
	}
}

static void clamp_times(struct stat *st)
{
	if (!ring->facts.clamp_times)
		return;
	clamp_time(&st->st_atim);
	clamp_time(&st->st_mtim);
	clamp_time(&st->st_ctim);
}

/* Remembers the file behind FD, which the lstat ST described just before
 * the open; a later fstat checks that the fd still names it. */
static void remember_fd(long fd, const struct stat *st)
{
	if (fd < 0 || fd >= KNOWN_FDS)
		return;
	known_fds[fd].dev = st->st_dev;
	known_fds[fd].ino = st->st_ino;
}

/*
 * Copies the program's PATH into COPY (SHIM_PATH_COPY bytes) through
 * process_vm_readv on this process. That fails with EFAULT where the
 * pointer is not readable, as the kernel's own copy would, whereas reading
 * it directly would crash the program. The copy also keeps another thread
 * from changing the path between the checks and the call. Reads stop at
 * page boundaries, so a string that ends before an unmapped page is
 * read whole. Returns the length, or 0 when the path cannot be copied
 * or does not fit.
 */
static size_t copy_path(pid_t self, const char *path, char *copy)
{
	size_t done = 0;

	while (done < SHIM_PATH_COPY) {
		uintptr_t at = (uintptr_t)path + done;
		size_t chunk = 4096 - (at & 4095);
		struct iovec local, remote;
		ssize_t n;
		char *end;

		if (chunk > SHIM_PATH_COPY - done)
			chunk = SHIM_PATH_COPY - done;
		local = (struct iovec){ copy + done, chunk };
		remote = (struct iovec){ (void *)at, chunk };
		n = syscall(SYS_process_vm_readv, self, &local, 1, &remote, 1, 0);
		if (n <= 0)
			return 0;
		end = memchr(copy + done, '\0', (size_t)n);
		if (end)
			return (size_t)(end - copy);
		done += (size_t)n;
	}
	return 0;
}

/*
 * Checks that PATH may take the fast path at all: a readable absolute
 * path, short enough for a record, and the ring active. Copies it into
 * COPY and returns its length, or 0.
 */
static size_t fast_candidate(const char *path, char *copy)
{
	size_t len;

	pid_t self;

	/* A NULL path goes to the kernel, which returns EFAULT. */
	if (!path || !shim_active_as(&self))
		return 0;
	len = copy_path(self, path, copy);
	if (len == 0 || copy[0] != '/')
		return 0;
	return len;
}

static int fast_open(const char *path, int flags, bool *done)
{
	char copy[SHIM_PATH_COPY];
	size_t len = fast_candidate(path, copy);
	char abspath[SHIM_SLOT_DATA];
	size_t abspath_len, parent_len;
	struct stat st;
	long fd = -1, error;

	*done = false;
	if (!len || !enter())
		return -1;
	if (ring_has_room() &&
	    (abspath_len = resolve_walk(copy, abspath, &error, false,
					&parent_len)) != 0) {
		/*
		 * The last name's type first: only regular files and
		 * directories are opened here. A symlink may lead out of the
		 * checked tree, a FIFO may block (while this thread holds the
		 * ring), and a device may be a random source that the core
		 * serves from the seed under any name.
		 */
		fd = error;
		if (!error) {
			fd = fast_call(SYS_newfstatat, AT_FDCWD, (long)abspath,
				       (long)&st, AT_SYMLINK_NOFOLLOW);
			last_name_seen(abspath, parent_len, fd);
			if (fd == 0 && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
				fd = fast_call(SYS_openat, AT_FDCWD, (long)abspath,
					       flags | O_NOFOLLOW, 0);
			else if (fd == 0)
				fd = -ELOOP; /* not a file for the fast path */
		}
		/* Any other error (ELOOP for a symlink, also one swapped in
		 * since the lstat, or EACCES) goes to the core, which handles
		 * the call as it would without the shim. */
		if (fd >= 0 || fd == -ENOENT || fd == -ENOTDIR) {
			record_call(SHIM_OP_OPEN, copy, len, abspath,
				    record_len(abspath, abspath_len), flags, fd);
			remember_fd(fd, &st);
			*done = true;
		}
	}
	leave();
	if (*done && fd < 0) {
		errno = (int)-fd;
		return -1;
	}
	return (int)fd;
}

/*
 * open() without a flag that writes or creates takes the fast path for
 * an absolute path; everything else is the plain syscall. openat() and
 * fopen() (which opens inside glibc) always take the notified path.
 */
static int shim_open(const char *path, int flags, mode_t mode)
{
	if (path && (flags & SHIM_OPEN_NOTIFIED_FLAGS) == 0) {
		bool done;
		int fd = fast_open(path, flags, &done);

		if (done)
			return fd;
	}
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

static mode_t mode_argument(int flags, va_list ap)
{
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return (mode_t)va_arg(ap, int);
	return 0;
}

EXPORT int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_argument(flags, ap);
	va_end(ap);
	return shim_open(path, flags, mode);
}

/* On x86_64 the 64-bit names are the same calls. */
EXPORT int open64(const char *path, int flags, ...) __attribute__((alias("open")));

/* The entries that _FORTIFY_SOURCE builds call when no mode is given. */
EXPORT int __open_2(const char *path, int flags)
{
	return shim_open(path, flags, 0);
}

EXPORT int __open64_2(const char *path, int flags)
{
	return shim_open(path, flags, 0);
}

/*
 * stat or lstat (AT_SYMLINK_NOFOLLOW in AT_FLAGS) of an absolute path on
 * the fast path. Returns 0 or -errno and sets *DONE, or leaves *DONE
 * false for the notified path.
 */
static int fast_stat(const char *path, struct stat *st, int at_flags,
		     bool *done)
{
	char copy[SHIM_PATH_COPY];
	size_t len = fast_candidate(path, copy);
	char abspath[SHIM_SLOT_DATA];
	size_t abspath_len, parent_len;
	long rc = 0;

	*done = false;
	if (!len || !ring->facts.stat_allowed || !enter())
		return 0;
	if (ring_has_room() &&
	    (abspath_len = resolve_walk(copy, abspath, &rc, false,
					&parent_len)) != 0) {
		/* lstat first: for a name that is no symlink it is the stat
		 * too, and a symlink is left to the core. */
		if (rc == 0) {
			rc = fast_call(SYS_newfstatat, AT_FDCWD, (long)abspath,
				       (long)st, AT_SYMLINK_NOFOLLOW);
			last_name_seen(abspath, parent_len, rc);
		}
		if (rc != 0 || !S_ISLNK(st->st_mode) ||
		    (at_flags & AT_SYMLINK_NOFOLLOW)) {
			record_call(SHIM_OP_STAT, copy, len, abspath,
				    record_len(abspath, abspath_len), at_flags, rc);
			*done = true;
		}
	}
	leave();
	if (*done && rc == 0)
		clamp_times(st);
	return (int)rc;
}

static int shim_stat(const char *path, struct stat *st, int at_flags)
{
	bool done;
	int rc = fast_stat(path, st, at_flags, &done);

	if (!done)
		return (int)syscall(SYS_newfstatat, AT_FDCWD, path, st, at_flags);
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

EXPORT int stat(const char *path, struct stat *st)
{
	return shim_stat(path, st, 0);
}

/* struct stat64 has the layout of struct stat on x86_64. */
EXPORT int stat64(const char *path, struct stat64 *st)
{
	return shim_stat(path, (struct stat *)st, 0);
}

EXPORT int lstat(const char *path, struct stat *st)
{
	return shim_stat(path, st, AT_SYMLINK_NOFOLLOW);
}

EXPORT int lstat64(const char *path, struct stat64 *st)
{
	return shim_stat(path, (struct stat *)st, AT_SYMLINK_NOFOLLOW);
}

/*
 * The stat entry points of programs built against glibc before 2.33 (GNU
 * make among them). Version 1 is the kernel's struct stat on x86_64; any
 * other goes to the kernel as it is.
 */
#define STAT_VERSION_KERNEL 1

EXPORT int __xstat(int version, const char *path, struct stat *st)
{
	if (version != STAT_VERSION_KERNEL)
		return (int)syscall(SYS_newfstatat, AT_FDCWD, path, st, 0);
	return shim_stat(path, st, 0);
}

EXPORT int __xstat64(int version, const char *path, struct stat64 *st)
	__attribute__((alias("__xstat")));

EXPORT int __lxstat(int version, const char *path, struct stat *st)
{
	if (version != STAT_VERSION_KERNEL)
		return (int)syscall(SYS_newfstatat, AT_FDCWD, path, st,
				    AT_SYMLINK_NOFOLLOW);
	return shim_stat(path, st, AT_SYMLINK_NOFOLLOW);
}

EXPORT int __lxstat64(int version, const char *path, struct stat64 *st)
	__attribute__((alias("__lxstat")));

/*
 * fstat of an fd that the fast path opened, while it still names the
 * same base file (same device and inode: a closed and reused fd names
 * another). Nothing is recorded, as the core records no fd stat.
 */
static int shim_fstat(int fd, struct stat *st)
{
	if (fd >= 0 && fd < KNOWN_FDS && known_fds[fd].ino && shim_active() &&
	    ring->facts.stat_allowed &&
	    fast_call(SYS_newfstatat, fd, (long)"", (long)st, AT_EMPTY_PATH) == 0 &&
	    st->st_dev == known_fds[fd].dev && st->st_ino == known_fds[fd].ino) {
		clamp_times(st);
		return 0;
	}
	return (int)syscall(SYS_newfstatat, fd, "", st, AT_EMPTY_PATH);
}

EXPORT int fstat(int fd, struct stat *st)
{
	return shim_fstat(fd, st);
}

EXPORT int __fxstat(int version, int fd, struct stat *st)
{
	if (version != STAT_VERSION_KERNEL)
		return (int)syscall(SYS_newfstatat, fd, "", st, AT_EMPTY_PATH);
	return shim_fstat(fd, st);
}

EXPORT int __fxstat64(int version, int fd, struct stat64 *st)
	__attribute__((alias("__fxstat")));

EXPORT int fstat64(int fd, struct stat64 *st)
{
	return shim_fstat(fd, (struct stat *)st);
}

EXPORT int access(const char *path, int mode)
{
	char copy[SHIM_PATH_COPY];
	size_t len = fast_candidate(path, copy);
	char abspath[SHIM_SLOT_DATA];
	size_t abspath_len, parent_len;
	bool done = false;
	long rc = 0;

	if (len && enter()) {
		if (ring_has_room() &&
		    (abspath_len = resolve_walk(copy, abspath, &rc, true,
						&parent_len)) != 0) {
			if (rc == 0)
				rc = fast_call(SYS_faccessat, AT_FDCWD,
					       (long)abspath, mode, 0);
			record_call(SHIM_OP_ACCESS, copy, len, abspath,
				    record_len(abspath, abspath_len), mode, rc);
			done = true;
		}
		leave();
	}
	if (!done)
		return (int)syscall(SYS_access, path, mode);
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return 0;
}

/*
 * Tells whether the rest of a path after a component needs that
 * component to be a directory: it is only slashes, "." and "..".
 */
static bool rest_needs_directory(const char *rest)
{
	while (*rest == '/') {
		while (*rest == '/')
			rest++;
		if (*rest == '\0')
			return true;
		if (rest[0] == '.' && (rest[1] == '\0' || rest[1] == '/'))
			return true;
		if (rest[0] == '.' && rest[1] == '.' &&
		    (rest[2] == '\0' || rest[2] == '/'))
			return true;
		return false;
	}
	return false;
}

/* Checks that PATH is a directory the way glibc's realpath does: an
 * existence check of PATH with a slash appended, through the core. */
static int check_directory(const char *path)
{
	char with_slash[PATH_MAX + 1];
	size_t len = strlen(path);

	memcpy(with_slash, path, len);
	with_slash[len] = '/';
	with_slash[len + 1] = '\0';
	if (syscall(SYS_faccessat2, AT_FDCWD, with_slash, F_OK, AT_EACCESS) != 0)
		return -errno;
	return 0;
}

/* Removes the last component of the absolute path OUT of length *LEN. */
static void drop_component(char *out, size_t *len)
{
	while (*len > 1 && out[*len - 1] != '/')
		(*len)--;
	if (*len > 1)
		(*len)--;
	out[*len] = '\0';
}

/*
 * Resolves PATH into OUT (PATH_MAX bytes) as glibc's realpath does.
 * Returns 0 or -errno. After an error OUT contains the part resolved so
 * far.
 */
static int resolve(const char *path, char *out)
{
	/* The input may be longer than PATH_MAX ("./" repeated), as long as
	 * what it resolves to is not; each symlink adds its target. */
	char *pending = strdup(path);
	char target[PATH_MAX];
	const char *rest;
	size_t len;
	int links = 0;
	bool active = shim_active();
	/* The top-level name that `fast` was computed for ("" for none). */
	char top[NAME_MAX + 1] = "";
	bool fast = false;
	int rc = 0;

	if (!pending)
		return -ENOMEM;
	if (path[0] == '/') {
		strcpy(out, "/");
	} else if (syscall(SYS_getcwd, out, PATH_MAX) < 0) {
		out[0] = '\0';
		rc = -errno;
		goto done;
	}
	len = strlen(out);
	rest = pending;
	for (;;) {
		size_t name_len;
		const char *name = next_name(&rest, &name_len);
		long n;

		if (!name)
			break;
		if (name_len == 1 && name[0] == '.')
			continue;
		if (name_len == 2 && name[0] == '.' && name[1] == '.') {
			drop_component(out, &len);
			continue;
		}
		if (len + 1 + name_len >= PATH_MAX) {
			rc = -ENAMETOOLONG;
			goto done;
		}
		if (len > 1)
			out[len++] = '/';
		memcpy(out + len, name, name_len);
		len += name_len;
		out[len] = '\0';

		if (active) {
			const char *first = out + 1;
			size_t first_len = strcspn(first, "/");

			if (first_len != strlen(top) ||
			    memcmp(first, top, first_len) != 0) {
				if (first_len <= NAME_MAX) {
					memcpy(top, first, first_len);
					top[first_len] = '\0';
					fast = base_answers_for(first, first_len);
				} else {
					top[0] = '\0';
					fast = false;
				}
			}
		}
		n = read_link(out, active && fast, target, sizeof(target) - 1);
		if (n >= 0) {
			size_t rest_len = strlen(rest);
			char *joined;

			if (++links > MAX_LINKS) {
				rc = -ELOOP;
				goto done;
			}
			joined = malloc((size_t)n + rest_len + 1);
			if (!joined) {
				rc = -ENOMEM;
				goto done;
			}
			memcpy(joined, target, (size_t)n);
			memcpy(joined + n, rest, rest_len + 1);
			free(pending);
			pending = joined;
			rest = pending;
			if (target[0] == '/') {
				strcpy(out, "/");
				len = 1;
			} else {
				drop_component(out, &len);
			}
			continue;
		}
		if (rest_needs_directory(rest)) {
			rc = check_directory(out);
			if (rc != 0)
				goto done;
		} else if (n != -EINVAL) {
			rc = (int)n;
			goto done;
		}
	}
done:
	free(pending);
	return rc;
}

static char *realpath_into(const char *path, char *resolved)
{
	char out[PATH_MAX];
	int rc;

	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	if (!*path) {
		errno = ENOENT;
		return NULL;
	}
	rc = resolve(path, out);
	if (rc != 0) {
		/* glibc leaves the part it resolved in the caller's buffer
		 * after ENOENT and EACCES, and only then. */
		if (resolved && (rc == -ENOENT || rc == -EACCES))
			strcpy(resolved, out);
		errno = -rc;
		return NULL;
	}
	if (!resolved)
		return strdup(out);
	return strcpy(resolved, out);
}

EXPORT char *realpath(const char *path, char *resolved)
{
	return realpath_into(path, resolved);
}

EXPORT char *canonicalize_file_name(const char *path)
{
	return realpath_into(path, NULL);
}

/* The entry that _FORTIFY_SOURCE builds call. */
EXPORT char *__realpath_chk(const char *path, char *resolved,
			    size_t resolved_len)
{
	if (resolved && resolved_len < PATH_MAX)
		abort();
	return realpath_into(path, resolved);
}
