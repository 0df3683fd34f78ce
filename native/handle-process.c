/* Process calls (exec, exit) and output to fd 1 and 2. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core.h"
#include "determinism.h"
#include "file-call.h"
#include "overlay.h"

#define ARGV_MAX_BYTES (1u << 20)
#define OUTPUT_MAX_BYTES (1u << 20)

static struct stat own_output[3];
static bool own_output_valid[3];

void terminal_init(void)
{
	for (int fd = 1; fd <= 2; fd++)
		own_output_valid[fd] = fstat(fd, &own_output[fd]) == 0;
}

static void handle_exit(struct call *c, bool whole_group)
{
	int status = (int)c->req->data.args[0];

	/* exit() of one thread ends the process only when it is the last. */
	if (whole_group || c->proc->thread_count <= 1) {
		trace_ensure_slice(c->proc, c->thread);
		proc_note_exit(c->proc, status);
	}
	if (!whole_group)
		proc_remove_thread(c->proc, c->tid);
	call_continue(c);
}

static void exec_abspath(struct call *c, int dirfd, const char *path,
			 int flags, struct resolved *r, int *err)
{
	char link[64];
	ssize_t n;

	if (path[0] == '\0' && (flags & AT_EMPTY_PATH)) {
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)c->tid, dirfd);
		n = readlink(link, r->abspath, sizeof(r->abspath) - 1);
		r->abspath[n < 0 ? 0 : n] = '\0';
		*err = n < 0 ? EBADF : 0;
		if (!*err)
			*err = access(r->abspath, X_OK) == 0 ? 0 : errno;
		r->dirfd = -1;
		return;
	}

	*err = -resolve_path(c->proc, c->tid, dirfd, path, r);
	if (*err)
		return;
	/* NOTE: success of the exec is judged by this X_OK check before
	 * the call; a binary with a bad format or a missing interpreter
	 * still counts as a successful exec here. */
	if (faccessat(r->dirfd, path, X_OK, 0) != 0)
		*err = errno;
}

/* Resolves the program on the merged view. Returns the host path that
 * the kernel must be given instead of path, or NULL, and sets err to the
 * errno that the exec will fail with, or 0. */
static const char *layered_exec_path(const struct resolved *r,
				     const char *path, char *host,
				     size_t size, int *err)
{
	int rc = layered_host_target(r, path, false, host, size);

	if (rc < 0) {
		*err = -rc;
		return NULL;
	}
	*err = access(host, X_OK) == 0 ? 0 : errno;
	return rc == 1 && *err == 0 ? host : NULL;
}

static void record_exec_event(struct call *c, enum event_name name,
			      const char *path, const char *abspath,
			      char **argv, int err)
{
	struct event ev;

	trace_ensure_slice(c->proc, c->thread);
	trace_event_begin(&ev, c->proc, c->thread, name, CAT_PROCESS);
	ann_string(&ev, AN_PATH, path);
	ann_string(&ev, AN_ABSPATH, abspath);
	ann_argv(&ev, AN_ARGV, argv);
	ann_string(&ev, AN_CWD, c->proc->cwd ? c->proc->cwd : "");
	ann_int(&ev, AN_RESULT, -err);
	trace_event_end(&ev);
}

/*
 * Warns once per run about a 32-bit x86 program. Its system calls come
 * with another audit architecture, for which the filter returns ENOSYS,
 * so it fails early, often with SIGSEGV and no message of its own.
 */
static void warn_if_32_bit(const char *abspath)
{
	static bool warned;
	unsigned char ident[EI_NIDENT];
	int fd;

	if (warned)
		return;
	fd = open(abspath, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (read(fd, ident, sizeof(ident)) == (ssize_t)sizeof(ident) &&
	    memcmp(ident, ELFMAG, SELFMAG) == 0 && ident[EI_CLASS] == ELFCLASS32) {
		control_send_warning("%s is a 32-bit program, which cannot run under uwrx: its system calls fail with ENOSYS", abspath);
		warned = true;
	}
	close(fd);
}

static void begin_new_program(struct call *c, const char *abspath, char **argv)
{
	struct process *p = c->proc;
	struct thread *leader;

	trace_slice_end(p);
	free(p->exe);
	p->exe = xstrdup(abspath);
	proc_set_argv(p, argv_copy(argv));
	p->execed = true;

	/* The exec'ing thread continues under the thread group id. */
	proc_keep_only_thread(p, c->tid);
	if (c->tid != p->tgid) {
		proc_remove_thread(p, c->tid);
		leader = proc_add_thread(p, p->tgid);
	} else {
		leader = &p->threads[0];
	}
	trace_slice_begin(p, leader);
	trace_process_tree(p);
}

static void handle_exec(struct call *c, bool at)
{
	const __u64 *args = c->req->data.args;
	int dirfd = at ? (int)args[0] : AT_FDCWD;
	uint64_t path_addr = at ? args[1] : args[0];
	uint64_t argv_addr = at ? args[2] : args[1];
	int flags = at ? (int)args[4] : 0;
	struct resolved r = { .dirfd = -1 };
	char path[PATH_MAX], host[PATH_MAX];
	const char *new_path = NULL;
	char **argv;
	int err;
	bool traced = false;

	/* The exec restarted by the ptrace step was recorded already. */
	if (exec_trace_owns(c->tid)) {
		call_continue(c);
		return;
	}
	if (tracee_read_string(c->tid, path_addr, path, sizeof(path)) < 0) {
		call_continue(c);
		return;
	}
	argv = tracee_read_argv(c->tid, argv_addr, ARGV_MAX_BYTES);
	proc_cwd_fd(c->proc, c->tid, NULL);
	exec_abspath(c, dirfd, path, flags, &r, &err);
	if (overlay.enabled && r.vpath[0])
		new_path = layered_exec_path(&r, path, host, sizeof(host), &err);

	if (err == 0)
		warn_if_32_bit(r.abspath);
	record_exec_event(c, at ? EV_EXECVEAT : EV_EXECVE, path, r.abspath,
			  argv, err);
	control_send_exec(c->proc->tgid, c->tid, c->proc->last_ts, argv,
			  c->proc->cwd ? c->proc->cwd : "", r.abspath, err);
	if (err == 0 && c->proc->det)
		det_exec_committed(c->proc, c->thread);
	if (err == 0 && (c->proc->det || new_path))
		traced = exec_trace_begin(c, c->proc->det ? c->proc->det->image_seed : NULL,
					  new_path, at ? 1 : 0);
	if (err == 0)
		begin_new_program(c, r.abspath, argv);
	resolved_release(&r);
	free_argv(argv);
	if (!traced)
		call_continue(c);
}

/*
 * Returns 1 or 2 when the tracee's fd is the same file as the core's own
 * stdout or stderr, else 0. `echo x >&2` in a shell writes to fd 1 after
 * dup2, so the file, not the fd number, tells which stream the user saw;
 * when both of the core's streams are one file (a terminal), the fd number
 * decides.
 */
static int terminal_stream(pid_t tid, int fd)
{
	char link[64];
	struct stat st;
	bool same[3] = { false, false, false };

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)tid, fd);
	if (stat(link, &st) != 0)
		return 0;
	for (int own = 1; own <= 2; own++)
		same[own] = own_output_valid[own] &&
			    st.st_dev == own_output[own].st_dev &&
			    st.st_ino == own_output[own].st_ino;
	if (same[1] && same[2])
		return fd;
	if (same[1])
		return 1;
	return same[2] ? 2 : 0;
}

/* Reads what a write or writev passes, up to OUTPUT_MAX_BYTES. */
static size_t read_output(struct call *c, bool vector, uint8_t *buf)
{
	const __u64 *args = c->req->data.args;
	struct iovec iov[64];
	size_t total = 0, count;
	ssize_t n;

	if (!vector) {
		size_t len = args[2] < OUTPUT_MAX_BYTES ? args[2] : OUTPUT_MAX_BYTES;

		n = tracee_read(c->tid, args[1], buf, len);
		return n > 0 ? (size_t)n : 0;
	}

	count = args[2] < 64 ? args[2] : 64;
	n = tracee_read(c->tid, args[1], iov, count * sizeof(iov[0]));
	if (n <= 0)
		return 0;
	count = (size_t)n / sizeof(iov[0]);
	for (size_t i = 0; i < count && total < OUTPUT_MAX_BYTES; i++) {
		size_t len = iov[i].iov_len;

		if (len > OUTPUT_MAX_BYTES - total)
			len = OUTPUT_MAX_BYTES - total;
		n = tracee_read(c->tid, (uint64_t)(uintptr_t)iov[i].iov_base, buf + total, len);
		if (n <= 0)
			break;
		total += (size_t)n;
	}
	return total;
}

static void handle_output(struct call *c, bool vector)
{
	int fd = (int)(uint32_t)c->req->data.args[0];
	uint8_t *buf = xmalloc(OUTPUT_MAX_BYTES + 1);
	size_t len = read_output(c, vector, buf);
	struct event ev;

	int stream = terminal_stream(c->tid, fd);

	trace_ensure_slice(c->proc, c->thread);
	trace_event_begin(&ev, c->proc, c->thread,
			  (stream ? stream : fd) == 1 ? EV_STDOUT : EV_STDERR,
			  CAT_OUTPUT);
	ann_int(&ev, AN_FD, fd);
	if (utf8_valid(buf, len)) {
		buf[len] = '\0';
		ann_string(&ev, AN_DATA, (const char *)buf);
	} else {
		char *encoded = base64_encode(buf, len);

		ann_string(&ev, AN_DATA_BASE64, encoded);
		free(encoded);
	}
	ann_bool(&ev, AN_TERMINAL, stream != 0);
	trace_event_end(&ev);
	free(buf);
	call_continue(c);
}

/*
 * Records output that sendfile, copy_file_range or splice sends to fd 1
 * or 2 (the filter notifies no other fd). The kernel copies these bytes
 * between files without passing them through the caller's memory, so the
 * event has no data, only the syscall and the count requested.
 * NOTE: the call proceeds after the event, so `bytes` is the count
 * requested; the call may send fewer or fail.
 */
static void handle_sent_output(struct call *c, const char *syscall_name,
			       int fd_arg, int count_arg)
{
	const __u64 *args = c->req->data.args;
	int fd = (int)(uint32_t)args[fd_arg];
	int stream = terminal_stream(c->tid, fd);
	struct event ev;

	trace_ensure_slice(c->proc, c->thread);
	trace_event_begin(&ev, c->proc, c->thread,
			  (stream ? stream : fd) == 1 ? EV_STDOUT : EV_STDERR,
			  CAT_OUTPUT);
	ann_int(&ev, AN_FD, fd);
	ann_string(&ev, AN_SENT_BY, syscall_name);
	ann_uint(&ev, AN_BYTES, args[count_arg]);
	ann_bool(&ev, AN_TERMINAL, stream != 0);
	trace_event_end(&ev);
	call_continue(c);
}

/* Returns true when the call was a process or output call. */
bool handle_process(struct call *c)
{
	switch (c->req->data.nr) {
	case __NR_exit:
		handle_exit(c, false);
		return true;
	case __NR_exit_group:
		handle_exit(c, true);
		return true;
	case __NR_execve:
		handle_exec(c, false);
		return true;
	case __NR_execveat:
		handle_exec(c, true);
		return true;
	case __NR_write:
		handle_output(c, false);
		return true;
	case __NR_writev:
		handle_output(c, true);
		return true;
	case __NR_sendfile:
		handle_sent_output(c, "sendfile", 0, 3);
		return true;
	case __NR_copy_file_range:
		handle_sent_output(c, "copy_file_range", 2, 4);
		return true;
	case __NR_splice:
		handle_sent_output(c, "splice", 2, 4);
		return true;
	default:
		return false;
	}
}
