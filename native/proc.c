/*
 * The table of live processes (thread groups) and their threads, filled
 * lazily: a notification from an unknown thread id is the first sign of a
 * new thread or process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core.h"
#include "determinism.h"

/* NOTE: lookups scan the live processes linearly. Builds keep a few dozen
 * processes alive at once; a hash by thread id is the next step if
 * profiles show this scan. */
static struct process **live;
static size_t live_count;
static uint32_t next_seq = 2;
static uint64_t total_count;

size_t proc_live_count(void)
{
	return live_count;
}

struct process **proc_live(void)
{
	return live;
}

uint64_t proc_total_count(void)
{
	return total_count;
}

struct process *proc_find(pid_t tgid)
{
	for (size_t i = 0; i < live_count; i++)
		if (live[i]->tgid == tgid)
			return live[i];
	return NULL;
}

struct process *proc_find_thread(pid_t tid, struct thread **thread)
{
	for (size_t i = 0; i < live_count; i++) {
		struct process *p = live[i];

		for (size_t j = 0; j < p->thread_count; j++) {
			if (p->threads[j].tid == tid) {
				*thread = &p->threads[j];
				return p;
			}
		}
	}
	return NULL;
}

struct status_fields {
	pid_t tgid;
	pid_t ppid;
	mode_t umask;
};

static bool read_status(pid_t tid, struct status_fields *out)
{
	char path[64], line[256];
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return false;

	out->umask = 022;
	while (fgets(line, sizeof(line), f)) {
		unsigned int mask;

		if (sscanf(line, "Tgid: %d", &out->tgid) == 1)
			found++;
		else if (sscanf(line, "PPid: %d", &out->ppid) == 1)
			found++;
		else if (sscanf(line, "Umask: %o", &mask) == 1)
			out->umask = mask;
	}
	fclose(f);
	return found == 2;
}

struct thread *proc_add_thread(struct process *p, pid_t tid)
{
	struct thread *t;

	p->threads = xrealloc(p->threads,
			      (p->thread_count + 1) * sizeof(*p->threads));
	t = &p->threads[p->thread_count++];
	t->tid = tid;
	t->index = ++p->next_thread_index;
	t->det = NULL;
	det_thread_added(p, t);
	trace_add_thread(p, t);
	return t;
}

void proc_remove_thread(struct process *p, pid_t tid)
{
	for (size_t j = 0; j < p->thread_count; j++) {
		if (p->threads[j].tid == tid) {
			det_thread_removed(&p->threads[j]);
			p->threads[j] = p->threads[--p->thread_count];
			return;
		}
	}
}

/* After an exec the kernel has killed every other thread and the caller
 * continues under the thread group id, whichever thread it was. */
void proc_keep_only_thread(struct process *p, pid_t tid)
{
	size_t kept = 0;

	for (size_t j = 0; j < p->thread_count; j++) {
		if (p->threads[j].tid == tid)
			p->threads[kept++] = p->threads[j];
		else
			det_thread_removed(&p->threads[j]);
	}
	p->thread_count = kept;
}

char **argv_copy(char *const *argv)
{
	size_t n = 0;
	char **out;

	while (argv && argv[n])
		n++;
	out = xmalloc((n + 1) * sizeof(char *));
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(argv[i]);
	out[n] = NULL;
	return out;
}

void free_argv(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

void proc_set_argv(struct process *p, char **argv)
{
	free_argv(p->argv);
	p->argv = argv;
}

static char *read_link(const char *path)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

/* A process that has not exec'd yet runs its parent's program. */
static void inherit_program(struct process *p)
{
	struct process *parent = proc_find(p->ppid);
	char path[64];

	if (parent && parent->exe) {
		p->exe = xstrdup(parent->exe);
		p->argv = argv_copy(parent->argv);
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)p->tgid);
	p->exe = read_link(path);
	p->argv = argv_copy(NULL);
}

static struct process *proc_create(const struct status_fields *st)
{
	struct process *p = xmalloc(sizeof(*p));
	char path[64];

	memset(p, 0, sizeof(*p));
	p->tgid = st->tgid;
	p->ppid = st->ppid;
	p->umask = st->umask;
	p->seq = next_seq++;
	p->cwd_fd = -1;
	p->pidfd = (int)syscall(SYS_pidfd_open, p->tgid, 0);
	inherit_program(p);
	snprintf(path, sizeof(path), "/proc/%d/cwd", (int)p->tgid);
	p->cwd = read_link(path);
	det_process_created(p);

	live = xrealloc(live, (live_count + 1) * sizeof(*live));
	live[live_count++] = p;
	total_count++;
	event_loop_watch_process(p);

	trace_start_process(p);
	/* trace_processor takes parents only from ProcessTree, and a process
	 * that never execs would otherwise have none. */
	trace_process_tree(p);
	control_send_process_started(p->tgid, p->ppid, p->last_ts,
				     p->buffer_name);
	log_debug("process %d (parent %d) seen, buffer %s", (int)p->tgid,
		  (int)p->ppid, p->buffer_name);
	return p;
}

struct process *proc_lookup_or_add(pid_t tid, struct thread **thread)
{
	struct status_fields st;
	struct process *p = proc_find_thread(tid, thread);

	if (p)
		return p;
	if (!read_status(tid, &st))
		return NULL;

	p = proc_find(st.tgid);
	if (!p)
		p = proc_create(&st);
	*thread = proc_add_thread(p, tid);
	return p;
}

void proc_drop_cwd(struct process *p)
{
	if (p->cwd_fd >= 0)
		close(p->cwd_fd);
	p->cwd_fd = -1;
}

/* Returns an O_PATH fd of the process's working directory, cached until a
 * thread of the process calls chdir or fchdir. Sets *opened (when not
 * NULL) if this call opened it through /proc. */
int proc_cwd_fd(struct process *p, pid_t tid, bool *opened)
{
	char path[64];

	if (p->cwd_fd >= 0)
		return p->cwd_fd;
	if (opened)
		*opened = true;

	snprintf(path, sizeof(path), "/proc/%d/cwd", (int)tid);
	p->cwd_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (p->cwd_fd < 0)
		return -1;
	free(p->cwd);
	p->cwd = read_link(path);
	return p->cwd_fd;
}

static void proc_record_exit(struct process *p, bool has_code, int code,
			     int signal)
{
	struct event ev;

	if (p->exit_recorded)
		return;
	if (p->thread_count == 0)
		proc_add_thread(p, p->tgid);
	trace_event_begin(&ev, p, &p->threads[0], EV_EXIT, CAT_PROCESS);
	if (has_code)
		ann_int(&ev, AN_STATUS, code);
	else
		ann_int(&ev, AN_SIGNAL, signal);
	if (p->det)
		ann_uint(&ev, AN_TIME_READS, p->det->time_reads);
	trace_event_end(&ev);
	trace_slice_end(p);
	p->exit_recorded = true;
	p->has_exit_code = has_code;
	p->exit_code = code;
	p->exit_signal = signal;
}

void proc_note_exit(struct process *p, int code)
{
	proc_record_exit(p, true, code & 0xff, 0);
}

static void proc_free(struct process *p)
{
	for (size_t i = 0; i < p->interned_count; i++)
		free(p->interned_names[i]);
	free(p->interned_names);
	for (size_t j = 0; j < p->thread_count; j++)
		det_thread_removed(&p->threads[j]);
	det_process_freed(p);
	free(p->threads);
	free_argv(p->argv);
	free(p->exe);
	free(p->cwd);
	pb_free(&p->buffer);
	free(p);
}

static void proc_unlink(struct process *p)
{
	for (size_t i = 0; i < live_count; i++) {
		if (live[i] == p) {
			live[i] = live[--live_count];
			return;
		}
	}
}

/* Ends a process: records its exit if exit_group did not, writes out its
 * buffer, closes its resources and tells the host. */
void proc_finish(struct process *p, bool has_code, int code, int signal)
{
	/* The records of the shim come before the exit, also when a signal
	 * ended the process without a last notified call. */
	shim_release(p);
	proc_record_exit(p, has_code, code, signal);
	trace_flush(p);
	control_send_process_exited(p->tgid, p->last_ts, p->has_exit_code,
				    p->exit_code, p->exit_signal);
	log_debug("process %d ended", (int)p->tgid);

	close(p->buffer_fd);
	if (p->pidfd >= 0)
		close(p->pidfd);
	proc_drop_cwd(p);
	proc_unlink(p);
	proc_free(p);
}

void proc_finish_status(struct process *p, int wait_status)
{
	if (WIFSIGNALED(wait_status))
		proc_finish(p, false, 0, WTERMSIG(wait_status));
	else
		proc_finish(p, true, WEXITSTATUS(wait_status), 0);
}

/* Reads the wait status from field 52 (exit_code) of /proc/PID/stat, which
 * the kernel fills once the process is a zombie. Returns -1 when the
 * parent has already reaped it. */
static int read_zombie_status(pid_t pid)
{
	char path[64], buf[1024];
	ssize_t n;
	char *p;
	int fd, field = 2;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';

	/* comm (field 2) may contain spaces and parentheses. */
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	while (*p && field < 52) {
		if (*p++ == ' ')
			field++;
	}
	return field == 52 ? atoi(p) : -1;
}

/* Ends a process whose pidfd reported its exit. */
void proc_finish_from_pidfd(struct process *p)
{
	int status;

	if (p->exit_recorded) {
		proc_finish(p, p->has_exit_code, p->exit_code, p->exit_signal);
		return;
	}

	status = read_zombie_status(p->tgid);
	if (status >= 0) {
		proc_finish_status(p, status);
		return;
	}
	/* NOTE: the parent reaped the process before the core read its
	 * status, so the terminating signal is unknown and recorded as 0. */
	proc_finish(p, false, 0, 0);
}

void proc_flush_all(void)
{
	for (size_t i = 0; i < live_count; i++)
		trace_flush(live[i]);
}
