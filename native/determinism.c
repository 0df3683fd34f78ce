/*
 * Deterministic runs: with --seed, every process draws getrandom,
 * /dev/urandom and /dev/random bytes from seeds derived by its position
 * in the tree (the @uwrx/prng algorithm) and wall-clock reads return
 * virtual time. File timestamps follow the rule in file-times.c.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "determinism.h"

struct determinism determinism = {
	.time = TIME_REAL,
	.layer_interval_ns = 1000000000ull,
};

/* Bytes behind an fd that stands for /dev/urandom or /dev/random. */
#define URANDOM_FILE_BYTES (1u << 20)
/* A UUID file: 36 characters and a newline. */
#define UUID_FILE_BYTES 37
/* The root seed's child index whose stream gives the run's boot_id. */
#define BOOT_ID_CHILD_INDEX (1ull << 63)
/* getrandom returns at most this many bytes per call, as the kernel does
 * for the urandom source (getrandom(2)). */
#define GETRANDOM_MAX_BYTES 33554431u
#define FILL_CHUNK_BYTES (64u << 10)
/* CLOCK_TAI is ahead of UTC by 37 s since 2017 (IERS Bulletin C). */
#define TAI_OFFSET_NS (37ull * 1000000000ull)

static bool start_time_given;
static uint64_t unmatched_process_count;

static _Noreturn void reject_option(const char *option, const char *value,
				    const char *expected)
{
	die("invalid %s '%s': expected %s", option, value, expected);
}

static uint64_t parse_u64(const char *option, const char *value)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(value, &end, 10);
	if (!value[0] || *end || errno || value[0] == '-' || value[0] == '+')
		reject_option(option, value, "a non-negative integer of nanoseconds");
	return n;
}

static uint64_t parse_count(const char *option, const char *value)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(value, &end, 10);
	if (!value[0] || *end || errno || value[0] == '-' || value[0] == '+')
		reject_option(option, value, "a non-negative integer");
	return n;
}

bool determinism_parse_option(int argc, char **argv, int *i)
{
	const char *option = argv[*i];
	const char *value;

	if (strcmp(option, "--seed") != 0 && strcmp(option, "--time") != 0 &&
	    strcmp(option, "--start-time-ns") != 0 &&
	    strcmp(option, "--time-step-ns") != 0 &&
	    strcmp(option, "--layer-interval-ns") != 0 &&
	    strcmp(option, "--parent-layers") != 0)
		return false;
	if (*i + 1 >= argc)
		die("missing value after %s", option);
	value = argv[++*i];

	if (strcmp(option, "--seed") == 0) {
		if (!prng_parse_seed(value, determinism.root_seed))
			reject_option(option, value, "64 hex digits");
		determinism.enabled = true;
	} else if (strcmp(option, "--time") == 0) {
		if (strcmp(value, "frozen") == 0)
			determinism.time = TIME_FROZEN;
		else if (strcmp(value, "advancing") == 0)
			determinism.time = TIME_ADVANCING;
		else if (strcmp(value, "real") == 0)
			determinism.time = TIME_REAL;
		else
			reject_option(option, value, "frozen, advancing or real");
	} else if (strcmp(option, "--start-time-ns") == 0) {
		determinism.start_time_ns = parse_u64(option, value);
		start_time_given = true;
	} else if (strcmp(option, "--layer-interval-ns") == 0) {
		determinism.layer_interval_ns = parse_u64(option, value);
	} else if (strcmp(option, "--parent-layers") == 0) {
		determinism.parent_layers = parse_count(option, value);
	} else {
		determinism.time_step_ns = parse_u64(option, value);
	}
	return true;
}

/* Takes the virtual start time from the real clock unless --start-time-ns
 * gave it. */
void determinism_start(void)
{
	struct timespec ts;

	if (!start_time_given) {
		clock_gettime(CLOCK_REALTIME, &ts);
		determinism.start_time_ns =
			(uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	}
	if (!determinism.enabled) {
		determinism.time = TIME_REAL;
		return;
	}
	file_times_start();
}

/* ---- seeds of processes and threads ---- */

static bool take_assigned(struct det_process *d, pid_t pid, uint64_t *index)
{
	for (size_t i = 0; i < d->assigned_count; i++) {
		if (d->assigned[i].pid == pid) {
			*index = d->assigned[i].index;
			d->assigned[i] = d->assigned[--d->assigned_count];
			return true;
		}
	}
	return false;
}

static bool is_assigned(const struct det_process *d, pid_t pid)
{
	for (size_t i = 0; i < d->assigned_count; i++)
		if (d->assigned[i].pid == pid)
			return true;
	return false;
}

static int compare_pids(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/*
 * Numbers the creator's children that the core has not seen yet, in pid
 * order. The order in which children make their first notified call is a
 * race (`a | b` in a shell starts both at once), but the kernel hands out
 * pids in creation order. fork and clone are not notified (see filter.c),
 * so this scan is the only count of children.
 * NOTE: after the pid counter wraps, pid order no longer follows creation
 * order. A child that never makes a notified call (killed by a signal
 * before its first one) and was reaped before this scan takes no number,
 * so its younger siblings shift down by one.
 */
static void assign_unseen_children(struct process *parent)
{
	struct det_process *d = parent->det;
	pid_t found[1024];
	size_t count = 0;
	char path[64];
	struct dirent *task;
	DIR *tasks;

	/* Every thread, seen or not, since any of them may have forked. */
	snprintf(path, sizeof(path), "/proc/%d/task", (int)parent->tgid);
	tasks = opendir(path);
	while (tasks && (task = readdir(tasks)) != NULL) {
		FILE *f;
		int pid;

		if (task->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/children", (int)parent->tgid, task->d_name);
		f = fopen(path, "re");
		while (f && count < 1024 && fscanf(f, "%d", &pid) == 1)
			if (!proc_find(pid) && !is_assigned(d, pid))
				found[count++] = pid;
		if (f)
			fclose(f);
	}
	if (tasks)
		closedir(tasks);
	qsort(found, count, sizeof(found[0]), compare_pids);
	for (size_t i = 0; i < count; i++) {
		d->assigned = xrealloc(d->assigned, (d->assigned_count + 1) * sizeof(*d->assigned));
		d->assigned[d->assigned_count++] = (struct det_child){ found[i], ++d->child_count };
	}
}

/* Returns the creator of a new process, adding it to the table when it
 * has made no notified call yet: with fork unnotified, a parent can be
 * first seen through its child. The core itself (the parent of the
 * command and of orphans) is never added. */
static struct process *find_creator(pid_t ppid)
{
	struct process *parent = proc_find(ppid);
	struct thread *leader;

	if (parent || ppid <= 1 || ppid == getpid())
		return parent;
	return proc_lookup_or_add(ppid, &leader);
}

/* Gives a new process its seed: its number among its creator's children
 * in creation order. */
static void assign_process_seed(struct process *p)
{
	struct det_process *d = p->det;
	struct process *parent;
	uint64_t index;

	if (p->tgid == determinism.root_pid) {
		memcpy(d->seed, determinism.root_seed, PRNG_SEED_BYTES);
		return;
	}
	parent = find_creator(p->ppid);
	if (parent && parent->det) {
		struct det_process *pd = parent->det;

		if (!take_assigned(pd, p->tgid, &index)) {
			assign_unseen_children(parent);
			/* Not listed: it was reaped meanwhile. */
			if (!take_assigned(pd, p->tgid, &index))
				index = ++pd->child_count;
		}
		prng_derive_child(pd->seed, index, d->seed);
		return;
	}
	/* The creator ended before the child made its first notified call,
	 * so the child's place in the tree is lost. Such children get seeds
	 * from an index range that real child positions never reach. */
	index = (1ull << 62) + ++unmatched_process_count;
	log_debug("process %d has no known creator; seeded as unmatched child %llu",
		  (int)p->tgid, (unsigned long long)unmatched_process_count);
	prng_derive_child(determinism.root_seed, index, d->seed);
}

void det_process_created(struct process *p)
{
	if (!determinism.enabled)
		return;
	p->det = xmalloc(sizeof(*p->det));
	memset(p->det, 0, sizeof(*p->det));
	assign_process_seed(p);
	memcpy(p->det->image_seed, p->det->seed, PRNG_SEED_BYTES);
}

void det_thread_added(struct process *p, struct thread *t)
{
	struct det_process *d = p->det;
	uint8_t seed[PRNG_SEED_BYTES];
	uint64_t index;

	if (!d)
		return;
	t->det = xmalloc(sizeof(*t->det));
	/* The first thread of an image reads the image seed's stream. */
	if (p->thread_count <= 1) {
		prng_stream_init(&t->det->stream, d->image_seed);
		return;
	}
	/* NOTE: clone is not notified, so threads are numbered in the order
	 * of their first notified call. Threads of one image that race to
	 * their first getrandom can swap streams between runs. */
	index = ++d->thread_count;
	prng_derive_thread(d->image_seed, index, seed);
	prng_stream_init(&t->det->stream, seed);
}

void det_thread_removed(struct thread *t)
{
	free(t->det);
	t->det = NULL;
}

void det_process_freed(struct process *p)
{
	if (!p->det)
		return;
	free(p->det->assigned);
	free(p->det);
	p->det = NULL;
}

/* Starts a new image: G = deriveExec(S, k) for the k-th exec, read from
 * its start by the thread that called exec. Exec ends the other threads,
 * so thread numbers restart. */
void det_exec_committed(struct process *p, struct thread *caller)
{
	struct det_process *d = p->det;

	if (!d)
		return;
	d->exec_count++;
	prng_derive_exec(d->seed, d->exec_count, d->image_seed);
	d->thread_count = 0;
	if (caller && caller->det)
		prng_stream_init(&caller->det->stream, d->image_seed);
}

/* ---- random bytes ---- */

static int fill_from_thread(struct call *c, uint8_t *buf, size_t len)
{
	struct det_thread *t = c->thread ? c->thread->det : NULL;
	int rc;

	if (!t)
		return -EIO;
	rc = prng_stream_fill(&t->stream, buf, len);
	if (rc < 0 && !c->proc->det->warned_stream_end) {
		c->proc->det->warned_stream_end = true;
		control_send_warning("random stream of thread %d exhausted after 256 GiB; its reads now fail with EIO", (int)c->tid);
	}
	return rc < 0 ? -EIO : 0;
}

static void record_random(struct call *c, enum event_name name,
			  const char *path, int64_t bytes)
{
	struct event ev;

	trace_ensure_slice(c->proc, c->thread);
	trace_event_begin(&ev, c->proc, c->thread, name, CAT_RANDOM);
	if (path)
		ann_string(&ev, AN_PATH, path);
	ann_int(&ev, AN_BYTES, bytes);
	trace_event_end(&ev);
}

/* Writes count bytes of the caller's stream to its buffer. Returns the
 * count written, or -errno when nothing was. */
static int64_t serve_getrandom(struct call *c, uint64_t addr, uint64_t count)
{
	static uint8_t chunk[FILL_CHUNK_BYTES];
	uint64_t done = 0;

	if (count > GETRANDOM_MAX_BYTES)
		count = GETRANDOM_MAX_BYTES;
	while (done < count) {
		size_t len = count - done < sizeof(chunk) ? (size_t)(count - done) : sizeof(chunk);
		ssize_t written;
		int rc = fill_from_thread(c, chunk, len);

		if (rc < 0)
			return done ? (int64_t)done : rc;
		written = tracee_write(c->tid, addr + done, chunk, len);
		if (written <= 0)
			return done ? (int64_t)done : -EFAULT;
		done += (uint64_t)written;
		if ((size_t)written < len)
			break;
	}
	return (int64_t)done;
}

static void handle_getrandom(struct call *c)
{
	const __u64 *args = c->req->data.args;
	unsigned int flags = (unsigned int)args[2];
	int64_t result;

	if (flags & ~(unsigned int)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) ||
	    ((flags & GRND_RANDOM) && (flags & GRND_INSECURE)))
		result = -EINVAL;
	else
		result = serve_getrandom(c, args[0], args[1]);
	if (call_return(c, result))
		record_random(c, EV_GETRANDOM, NULL, result);
}

/* Returns a new read-only open description, at offset 0, of the memfd. */
static int reopen_read_only(int memfd)
{
	char self[64];
	int fd;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", memfd);
	fd = open(self, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Returns a read-only fd of a memfd that contains URANDOM_FILE_BYTES of the
 * caller's stream, or -errno. */
static int make_urandom_file(struct call *c)
{
	static uint8_t chunk[FILL_CHUNK_BYTES];
	int memfd, rc;

	memfd = memfd_create("uwrx-urandom", MFD_CLOEXEC);
	if (memfd < 0)
		return -errno;
	for (size_t done = 0; done < URANDOM_FILE_BYTES; done += sizeof(chunk)) {
		rc = fill_from_thread(c, chunk, sizeof(chunk));
		if (rc == 0 && write(memfd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
			rc = -EIO;
		if (rc < 0) {
			close(memfd);
			return rc;
		}
	}
	rc = reopen_read_only(memfd);
	close(memfd);
	return rc;
}

/* Formats 16 random bytes as a version 4 UUID and a newline, as the
 * kernel's generate_random_uuid and proc_do_uuid do. */
static void format_uuid(uint8_t bytes[16], char out[UUID_FILE_BYTES + 1])
{
	static const char digits[] = "0123456789abcdef";
	size_t pos = 0;

	bytes[6] = (uint8_t)((bytes[6] & 0x0f) | 0x40); /* version 4 */
	bytes[8] = (uint8_t)((bytes[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[pos++] = '-';
		out[pos++] = digits[bytes[i] >> 4];
		out[pos++] = digits[bytes[i] & 15];
	}
	out[pos++] = '\n';
	out[pos] = '\0';
}

/* Fills bytes for the run's boot_id: the start of the stream of a child
 * index of the root seed that no process reaches (children count from
 * 1, unmatched ones from 2^62). */
static int fill_boot_id(uint8_t bytes[16])
{
	uint8_t seed[PRNG_SEED_BYTES];
	struct prng_stream stream;

	prng_derive_child(determinism.root_seed, BOOT_ID_CHILD_INDEX, seed);
	prng_stream_init(&stream, seed);
	return prng_stream_fill(&stream, bytes, 16) < 0 ? -EIO : 0;
}

/* Returns a read-only fd of a memfd that contains a UUID file of the
 * source, or -errno. */
static int make_uuid_file(struct call *c, enum random_source source)
{
	uint8_t bytes[16];
	char text[UUID_FILE_BYTES + 1];
	int memfd, rc;

	if (source == RANDOM_SOURCE_BOOT_ID)
		rc = fill_boot_id(bytes);
	else
		rc = fill_from_thread(c, bytes, sizeof(bytes));
	if (rc < 0)
		return rc;
	format_uuid(bytes, text);
	memfd = memfd_create("uwrx-uuid", MFD_CLOEXEC);
	if (memfd < 0)
		return -errno;
	if (write(memfd, text, UUID_FILE_BYTES) != UUID_FILE_BYTES)
		rc = -EIO;
	else
		rc = reopen_read_only(memfd);
	close(memfd);
	return rc;
}

/* Injects fd as the call's result and closes it. Returns the tracee's fd
 * or -errno. */
static int64_t inject_fd(struct call *c, int fd, uint64_t flags)
{
	struct seccomp_notif_addfd addfd = { 0 };
	int64_t result;

	addfd.id = c->req->id;
	addfd.flags = SECCOMP_ADDFD_FLAG_SEND;
	addfd.srcfd = (uint32_t)fd;
	addfd.newfd_flags = (flags & O_CLOEXEC) ? O_CLOEXEC : 0;
	result = ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd);
	if (result < 0)
		result = -errno;
	close(fd);
	c->answered = true;
	return result;
}

/* Stats the target of a path under /dev without following magic links:
 * /dev/stdin leads to /proc/self/fd/0, which the core would resolve to
 * its own fd. */
static bool stat_dev_path(const struct resolved *r, const char *path,
			  uint64_t flags, struct stat *st)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC | (flags & O_NOFOLLOW),
				.resolve = RESOLVE_NO_MAGICLINKS };
	int fd = (int)syscall(SYS_openat2, r->dirfd, path, &how, sizeof(how));
	bool ok;

	if (fd < 0)
		return false;
	ok = fstat(fd, st) == 0;
	close(fd);
	return ok;
}

static bool has_prefix_dir(const char *path, const char *dir)
{
	size_t len = strlen(dir);

	return strncmp(path, dir, len) == 0 && path[len] == '/';
}

/*
 * Returns the random source that a read-only open of path reads: the
 * character devices 1:9 (urandom) and 1:8 (random) under any name, or the
 * kernel's UUID files. st is the core's stat of the target, or NULL when
 * it made none (paths under /proc, /dev and /sys).
 * NOTE: the UUID files are matched by their absolute path, so a symlink
 * to them reaches the kernel.
 */
static enum random_source random_source_of(const struct resolved *r,
					   const char *path, uint64_t flags,
					   const struct stat *st)
{
	struct stat dev_st;

	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_PATH))
		return RANDOM_SOURCE_NONE;
	if (strcmp(r->abspath, "/proc/sys/kernel/random/uuid") == 0)
		return RANDOM_SOURCE_UUID;
	if (strcmp(r->abspath, "/proc/sys/kernel/random/boot_id") == 0)
		return RANDOM_SOURCE_BOOT_ID;
	if (!st && has_prefix_dir(r->abspath, "/dev") &&
	    stat_dev_path(r, path, flags, &dev_st))
		st = &dev_st;
	if (!st || !S_ISCHR(st->st_mode) || major(st->st_rdev) != 1)
		return RANDOM_SOURCE_NONE;
	if (minor(st->st_rdev) == 9)
		return RANDOM_SOURCE_URANDOM;
	if (minor(st->st_rdev) == 8)
		return RANDOM_SOURCE_RANDOM;
	return RANDOM_SOURCE_NONE;
}

/*
 * Serves, under --seed, an open of a random source from the caller's
 * stream (the run's seed for boot_id): a memfd with the file's contents,
 * injected as the call's result. Returns the tracee's fd or -errno, or
 * INT64_MIN when path is no random source.
 * NOTE: a urandom file contains URANDOM_FILE_BYTES (1 MiB), so reads past
 * that return end of file where the device never does. A program that
 * reads more from one fd gets a short read.
 */
int64_t det_open_random_source(struct call *c, const struct resolved *r,
			       const char *path, uint64_t flags,
			       const struct stat *st)
{
	static const char *const device_names[] = {
		[RANDOM_SOURCE_URANDOM] = "/dev/urandom",
		[RANDOM_SOURCE_RANDOM] = "/dev/random",
	};
	enum random_source source;
	int64_t result;
	int fd;

	if (!determinism.enabled || !c->proc->det)
		return INT64_MIN;
	source = random_source_of(r, path, flags, st);
	if (source == RANDOM_SOURCE_NONE)
		return INT64_MIN;

	if (source == RANDOM_SOURCE_URANDOM || source == RANDOM_SOURCE_RANDOM)
		fd = make_urandom_file(c);
	else
		fd = make_uuid_file(c, source);
	if (fd < 0)
		return fd;
	result = inject_fd(c, fd, flags);
	if (result < 0)
		return result;

	if (source == RANDOM_SOURCE_UUID)
		record_random(c, EV_UUID, r->abspath, UUID_FILE_BYTES);
	else if (source == RANDOM_SOURCE_BOOT_ID)
		record_random(c, EV_BOOT_ID, r->abspath, UUID_FILE_BYTES);
	else
		record_random(c, EV_URANDOM, device_names[source], URANDOM_FILE_BYTES);
	return result;
}

/* ---- time ---- */

enum clock_kind { CLOCK_KIND_KERNEL, CLOCK_KIND_REAL, CLOCK_KIND_TAI };

/*
 * Only wall-clock time is virtual. Monotonic, boot-time and CPU-time
 * clocks stay with the kernel, because programs compute deadlines from
 * them and wait on the kernel's clock: a virtual CLOCK_MONOTONIC made
 * Python's time.sleep (clock_nanosleep with TIMER_ABSTIME) return at once
 * and left libuv timers waiting forever. The filter allows clock_gettime
 * of those clocks without a notification (filter.c lists the same ids).
 * NOTE: clock_nanosleep and timers on CLOCK_REALTIME with an absolute
 * deadline computed from the virtual clock still wait on the real clock.
 */
static enum clock_kind clock_kind_of(int64_t id)
{
	switch (id) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
	case CLOCK_REALTIME_ALARM:
		return CLOCK_KIND_REAL;
	case CLOCK_TAI:
		return CLOCK_KIND_TAI;
	default:
		return CLOCK_KIND_KERNEL;
	}
}

/* Returns the virtual time of the process's next read: the start plus
 * step times the reads it has made so far (frozen: step 0). */
static uint64_t next_virtual_ns(struct process *p, enum clock_kind kind)
{
	uint64_t reads = p->det->time_reads++;
	uint64_t advance = determinism.time == TIME_ADVANCING ? determinism.time_step_ns * reads : 0;

	if (kind == CLOCK_KIND_TAI)
		return determinism.start_time_ns + TAI_OFFSET_NS + advance;
	return determinism.start_time_ns + advance;
}

static int64_t write_timespec(struct call *c, uint64_t addr, uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };

	if (tracee_write(c->tid, addr, &ts, sizeof(ts)) != (ssize_t)sizeof(ts))
		return -EFAULT;
	return 0;
}

static int64_t serve_gettimeofday(struct call *c, uint64_t tv_addr,
				  uint64_t tz_addr)
{
	struct timezone tz = { 0, 0 };

	if (tv_addr) {
		uint64_t ns = next_virtual_ns(c->proc, CLOCK_KIND_REAL);
		struct timeval tv = { .tv_sec = (time_t)(ns / 1000000000ull),
				      .tv_usec = (suseconds_t)(ns % 1000000000ull / 1000) };

		if (tracee_write(c->tid, tv_addr, &tv, sizeof(tv)) != (ssize_t)sizeof(tv))
			return -EFAULT;
	}
	/* The kernel reports UTC with no DST rule, as sys_tz is by default. */
	if (tz_addr && tracee_write(c->tid, tz_addr, &tz, sizeof(tz)) != (ssize_t)sizeof(tz))
		return -EFAULT;
	return 0;
}

/* Returns true when the call read a clock and was served. */
static bool handle_time_call(struct call *c)
{
	const __u64 *args = c->req->data.args;
	int nr = c->req->data.nr;
	int64_t result;

	if (determinism.time == TIME_REAL)
		return false;
	if (nr == __NR_clock_gettime) {
		enum clock_kind kind = clock_kind_of((int64_t)(int32_t)args[0]);

		if (kind == CLOCK_KIND_KERNEL)
			return false;
		result = write_timespec(c, args[1], next_virtual_ns(c->proc, kind));
	} else if (nr == __NR_gettimeofday) {
		result = serve_gettimeofday(c, args[0], args[1]);
#ifdef __NR_time
	} else if (nr == __NR_time) {
		time_t seconds = (time_t)(next_virtual_ns(c->proc, CLOCK_KIND_REAL) / 1000000000ull);

		result = seconds;
		if (args[0] && tracee_write(c->tid, args[0], &seconds, sizeof(seconds)) != (ssize_t)sizeof(seconds))
			result = -EFAULT;
#endif
	} else {
		return false;
	}
	call_return(c, result);
	return true;
}

/* Returns true when the call was a determinism call and was answered. */
bool det_handle_call(struct call *c)
{
	if (!determinism.enabled || !c->proc->det)
		return false;
	if (c->req->data.nr == __NR_getrandom) {
		handle_getrandom(c);
		return true;
	}
	return handle_time_call(c);
}

/* Lists the calls that the filter must notify for determinism. */
size_t det_notified_calls(int *out, size_t max)
{
	size_t n = 0;

	if (!determinism.enabled || max < 5)
		return 0;
	out[n++] = __NR_getrandom;
#ifdef __NR_fstat
	/* fstat reports file times, which the core rewrites. */
	out[n++] = __NR_fstat;
#endif
	/* clock_gettime is notified by clock id; see filter.c. */
	if (determinism.time == TIME_REAL)
		return n;
	out[n++] = __NR_gettimeofday;
#ifdef __NR_time
	out[n++] = __NR_time;
#endif
	return n;
}

/* Runs in the command's first process before its exec. ASLR stays off for
 * every descendant, because personality survives fork and exec. */
void det_child_setup(void)
{
	int current;

	if (!determinism.enabled)
		return;
	current = personality(0xffffffff);
	if (current != -1)
		personality((unsigned long)current | ADDR_NO_RANDOMIZE);
}
