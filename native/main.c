/*
 * uwrx-core: runs a command under a seccomp user-notification filter,
 * observes every process of its tree and writes Perfetto packets into one
 * buffer file per process.
 *
 * Usage: uwrx-core --control-fd N --buffer-dir DIR [--verbose]
 *        [--seed HEX64 [--time frozen|advancing|real] [--start-time-ns N]
 *        [--time-step-ns N]] -- COMMAND...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "determinism.h"

#define FLUSH_INTERVAL_NS (100 * 1000 * 1000)
/* How long the rest of the tree may run after the command's first process
 * has ended, before the core kills it. */
#define DRAIN_TIMEOUT_NS (2000ull * 1000 * 1000)

struct options {
	int control_fd;
	const char *buffer_dir;
	char **command;
};

struct run {
	struct launch child;
	int buffer_dir_fd;
	int signal_fd;
	int timer_fd;
	bool root_done;
	int root_status;
	uint64_t drain_deadline;
	int exec_errno;
	bool tree_empty;
};

static struct run run;

static _Noreturn void usage(void)
{
	die("usage: uwrx-core --control-fd N --buffer-dir DIR [--verbose] [--seed HEX64] [--time frozen|advancing|real] [--start-time-ns NS] [--time-step-ns NS] -- COMMAND [ARGS...]");
}

static struct options parse_options(int argc, char **argv)
{
	struct options o = { .control_fd = -1 };
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else if (strcmp(argv[i], "--verbose") == 0) {
			log_verbose = true;
		} else if (strcmp(argv[i], "--control-fd") == 0 && i + 1 < argc) {
			char *end;

			o.control_fd = (int)strtol(argv[++i], &end, 10);
			if (*end || o.control_fd < 0)
				die("invalid --control-fd '%s': expected a non-negative fd number", argv[i]);
		} else if (strcmp(argv[i], "--buffer-dir") == 0 && i + 1 < argc) {
			o.buffer_dir = argv[++i];
		} else if (determinism_parse_option(argc, argv, &i)) {
			continue;
		} else {
			usage();
		}
	}
	if (!o.buffer_dir || i >= argc)
		usage();
	o.command = argv + i;
	return o;
}

static int open_buffer_dir(const char *dir)
{
	int fd = open(dir, O_DIRECTORY | O_PATH | O_CLOEXEC);

	if (fd < 0)
		die("buffer directory %s cannot be opened: %s; create it or pass another --buffer-dir", dir, strerror(errno));
	if (faccessat(fd, ".", W_OK, 0) != 0)
		die("buffer directory %s not writable: %s; pass a directory this user can write", dir, strerror(errno));
	return fd;
}

static int make_signal_fd(void)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		die("signalfd failed: %s", strerror(errno));
	return fd;
}

static int make_flush_timer(void)
{
	struct itimerspec every = {
		.it_interval = { 0, FLUSH_INTERVAL_NS },
		.it_value = { 0, FLUSH_INTERVAL_NS },
	};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0 || timerfd_settime(fd, 0, &every, NULL) != 0)
		die("timerfd failed: %s", strerror(errno));
	return fd;
}

/* Frees the whole pages of a buffer file below offset. */
void host_release(const char *buffer, uint64_t offset)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t end = offset & ~(page - 1);
	int fd;

	if (!buffer[0] || strchr(buffer, '/') || strcmp(buffer, "..") == 0 || end == 0)
		return;
	fd = openat(run.buffer_dir_fd, buffer, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		control_send_warning("release of unknown buffer %s: %s", buffer, strerror(errno));
		return;
	}
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)end) != 0)
		control_send_warning("punching a hole in buffer %s failed: %s", buffer, strerror(errno));
	close(fd);
}

void host_terminate(int signal)
{
	if (!run.root_done)
		kill(run.child.pid, signal ? signal : SIGTERM);
}

static void reap_children(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG | __WALL)) != 0) {
		struct process *p;

		if (pid < 0) {
			if (errno == ECHILD)
				run.tree_empty = true;
			return;
		}
		/* A ptrace stop of a thread in the exec step, not an exit. */
		if (exec_trace_on_wait(pid, status) || WIFSTOPPED(status))
			continue;
		p = proc_find(pid);
		if (p)
			proc_finish_status(p, status);
		if (pid == run.child.pid) {
			run.root_done = true;
			run.root_status = status;
			run.drain_deadline = now_boottime() + DRAIN_TIMEOUT_NS;
		}
	}
}

static void on_signal(void)
{
	struct signalfd_siginfo info;

	while (read(run.signal_fd, &info, sizeof(info)) == sizeof(info)) {
		/* SIGINT from a terminal reaches the whole foreground group,
		 * the tree included; the core keeps supervising until the
		 * tree has ended. Other termination requests are passed to
		 * the command. */
		if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGHUP)
			host_terminate((int)info.ssi_signo);
	}
	exec_trace_poll();
	reap_children();
}

static void on_exec_result(void)
{
	int err;
	ssize_t n = read(run.child.exec_error_fd, &err, sizeof(err));

	if (n == sizeof(err) && err > 0)
		run.exec_errno = err;
	close(run.child.exec_error_fd);
	run.child.exec_error_fd = -1;
}

/* Kills every process left in the tree: those the table knows and, as
 * subreaper, every direct child, including orphans not seen yet. */
static void kill_remaining(void)
{
	struct process **live = proc_live();
	char path[64];

	for (size_t i = 0; i < proc_live_count(); i++)
		kill(live[i]->tgid, SIGKILL);
	for (int round = 0; round < 200 && !run.tree_empty; round++) {
		FILE *children;
		int pid;

		snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)getpid(), (int)getpid());
		children = fopen(path, "re");
		while (children && fscanf(children, "%d", &pid) == 1)
			kill(pid, SIGKILL);
		if (children)
			fclose(children);
		usleep(10000);
		reap_children();
	}
}

static size_t build_pollset(struct pollfd *fds, size_t max, struct process **owners)
{
	size_t n = 0;

	fds[n++] = (struct pollfd){ .fd = run.child.listener, .events = POLLIN };
	fds[n++] = (struct pollfd){ .fd = run.signal_fd, .events = POLLIN };
	fds[n++] = (struct pollfd){ .fd = run.timer_fd, .events = POLLIN };
	fds[n++] = (struct pollfd){ .fd = run.child.exec_error_fd, .events = POLLIN };
	fds[n++] = (struct pollfd){
		.fd = control_fd(),
		.events = (short)(POLLIN | (control_wants_write() ? POLLOUT : 0)),
	};
	for (size_t i = 0; i < proc_live_count() && n < max; i++) {
		struct process *p = proc_live()[i];

		owners[n] = p;
		fds[n++] = (struct pollfd){ .fd = p->pidfd, .events = POLLIN };
	}
	return n;
}

static void on_timer(void)
{
	uint64_t ticks;

	if (read(run.timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		log_debug("reading the flush timer failed: %s", strerror(errno));
	proc_flush_all();
	if (run.root_done && now_boottime() >= run.drain_deadline) {
		control_send_warning("processes still running 2 s after the command ended were killed");
		kill_remaining();
	}
}

static void dispatch(struct pollfd *fds, size_t n, struct process **owners)
{
	if (fds[0].revents & POLLIN)
		notify_handle_one();
	if (fds[3].revents)
		on_exec_result();
	if (fds[4].revents & POLLOUT)
		control_on_writable();
	if (fds[4].revents & (POLLIN | POLLHUP | POLLERR))
		control_on_readable();
	/* pidfds before SIGCHLD: a zombie's status is still readable. */
	for (size_t i = 5; i < n; i++)
		if (fds[i].revents && proc_find(owners[i]->tgid) == owners[i])
			proc_finish_from_pidfd(owners[i]);
	if (fds[1].revents & POLLIN)
		on_signal();
	if (fds[2].revents & POLLIN)
		on_timer();
}

static void event_loop(void)
{
	enum { MAX_POLL = 4096 };
	static struct pollfd fds[MAX_POLL];
	static struct process *owners[MAX_POLL];

	while (!(run.root_done && run.tree_empty)) {
		size_t n = build_pollset(fds, MAX_POLL, owners);

		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll failed: %s", strerror(errno));
		}
		dispatch(fds, n, owners);
		if (run.root_done && !run.tree_empty)
			reap_children();
	}
}

static int finish(void)
{
	struct core_finish f = { .exec_errno = run.exec_errno };
	int status = run.root_status;
	int code;

	while (proc_live_count() > 0)
		proc_finish_from_pidfd(proc_live()[0]);

	if (run.exec_errno) {
		code = run.exec_errno == ENOENT ? 127 : 126;
	} else if (WIFSIGNALED(status)) {
		f.has_signal = true;
		f.signal = WTERMSIG(status);
		code = 128 + f.signal;
	} else {
		f.has_exit_code = true;
		f.exit_code = WEXITSTATUS(status);
		code = f.exit_code;
	}
	f.process_count = proc_total_count();
	f.notification_count = notify_count();
	control_send_finished(&f);
	control_flush_blocking(1000);
	return code;
}

int main(int argc, char **argv)
{
	struct options o = parse_options(argc, argv);
	uint64_t boot, real;
	struct timespec ts;

	control_init(o.control_fd);
	run.buffer_dir_fd = open_buffer_dir(o.buffer_dir);
	trace_init(run.buffer_dir_fd);
	path_init();
	terminal_init();
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0)
		die("PR_SET_CHILD_SUBREAPER failed: %s", strerror(errno));
	run.signal_fd = make_signal_fd();
	run.timer_fd = make_flush_timer();

	boot = now_boottime();
	clock_gettime(CLOCK_REALTIME, &ts);
	real = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	trace_write_core_sequence();

	determinism_start();
	launch_command(o.command, &run.child);
	determinism.root_pid = run.child.pid;
	notify_init(run.child.listener);
	control_send_started(run.child.pid, boot, real);
	log_debug("started %s as %d", o.command[0], (int)run.child.pid);

	event_loop();
	return finish();
}
