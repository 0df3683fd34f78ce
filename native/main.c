/*
 * uwrx-core: runs a command under a seccomp user-notification filter,
 * observes every process of its tree and writes Perfetto packets into one
 * buffer file per process.
 *
 * Usage: uwrx-core --control-fd N --buffer-dir DIR [--verbose]
 *        [--argv-file F] [--env-file F]
 *        [--seed HEX64 [--time frozen|advancing|real] [--start-time-ns N]
 *        [--time-step-ns N] [--layer-interval-ns N] [--parent-layers N]]
 *        [--upper DIR [--layer-index FILE]] [--shim LIBRARY] -- COMMAND...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "determinism.h"
#include "merged-dir.h"
#include "overlay.h"

#define FLUSH_INTERVAL_NS (100 * 1000 * 1000)
/* How long the rest of the tree may run after the command's first process
 * has ended, before the core kills it. */
#define DRAIN_TIMEOUT_NS (2000ull * 1000 * 1000)

struct options {
	int control_fd;
	const char *buffer_dir;
	char **command;
	char **environment; /* NULL: the core's own */
	const char *upper;       /* --upper: the writable layer, or NULL */
	const char *layer_index; /* --layer-index: the parent layers */
};

struct run {
	struct launch child;
	int buffer_dir_fd;
	int signal_fd;
	int timer_fd;
	int epoll_fd;
	bool root_done;
	int root_status;
	uint64_t drain_deadline;
	int exec_errno;
	bool tree_empty;
};

static struct run run;

static _Noreturn void usage(void)
{
	die("usage: uwrx-core --control-fd N --buffer-dir DIR [--verbose] [--argv-file FILE] [--env-file FILE] [--seed HEX64] [--time frozen|advancing|real] [--start-time-ns NS] [--time-step-ns NS] [--layer-interval-ns NS] [--parent-layers N] [--upper DIR [--layer-index FILE]] -- COMMAND [ARGS...]");
}

/*
 * Reads a file of NUL-terminated strings into a NULL-terminated array.
 * The host passes argv and the environment this way because Node turns
 * bytes that are not UTF-8 into U+FFFD in a spawn's arguments.
 */
static char **read_string_list(const char *path, const char *option)
{
	FILE *f = fopen(path, "re");
	char **list = NULL;
	size_t count = 0;
	char *item = NULL;
	size_t size = 0;

	if (!f)
		die("%s %s cannot be opened: %s", option, path, strerror(errno));
	while (getdelim(&item, &size, '\0', f) > 0) {
		list = xrealloc(list, (count + 2) * sizeof(*list));
		list[count++] = xstrdup(item);
	}
	free(item);
	fclose(f);
	if (!list)
		list = xmalloc(sizeof(*list));
	list[count] = NULL;
	return list;
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
		} else if (strcmp(argv[i], "--argv-file") == 0 && i + 1 < argc) {
			o.command = read_string_list(argv[++i], "--argv-file");
		} else if (strcmp(argv[i], "--env-file") == 0 && i + 1 < argc) {
			o.environment = read_string_list(argv[++i], "--env-file");
		} else if (strcmp(argv[i], "--upper") == 0 && i + 1 < argc) {
			o.upper = argv[++i];
		} else if (strcmp(argv[i], "--shim") == 0 && i + 1 < argc) {
			shim_library = argv[++i];
		} else if (strcmp(argv[i], "--layer-index") == 0 && i + 1 < argc) {
			o.layer_index = argv[++i];
		} else if (determinism_parse_option(argc, argv, &i)) {
			continue;
		} else {
			usage();
		}
	}
	if (!o.command && i < argc)
		o.command = argv + i;
	if (!o.buffer_dir || !o.command || !o.command[0])
		usage();
	if (o.layer_index && !o.upper)
		die("--layer-index %s needs --upper DIR: the parent layers sit below a writable layer", o.layer_index);
	return o;
}

/* Sets up the layers from --upper and --layer-index. The file times of
 * --seed count the parent layers, so --parent-layers must match the
 * index. */
static void setup_layers(const struct options *o)
{
	char error[256];
	uint64_t parents;
	int rc;

	if (!o->upper)
		return;
	if (overlay_setup(o->upper, o->layer_index, error, sizeof(error)) != 0)
		die("invalid --upper %s or --layer-index %s: %s", o->upper,
		    o->layer_index ? o->layer_index : "(none)", error);
	parents = overlay.top_layer - 1;
	if (determinism.enabled && determinism.parent_layers != parents)
		die("invalid --parent-layers %llu: the layer index has %llu parent layers; pass --parent-layers %llu",
		    (unsigned long long)determinism.parent_layers,
		    (unsigned long long)parents, (unsigned long long)parents);
	rc = merged_dir_setup(o->buffer_dir);
	if (rc != 0)
		die("creating the merged-dirs directory in --buffer-dir %s failed: %s",
		    o->buffer_dir, strerror(-rc));
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

/*
 * Sources in the epoll set. A pidfd's entry carries its process's tgid
 * above SOURCE_PROCESS, so that an event for a process ended earlier in
 * the same batch finds nothing instead of a freed pointer.
 */
enum source {
	SOURCE_LISTENER,
	SOURCE_SIGNAL,
	SOURCE_TIMER,
	SOURCE_EXEC_RESULT,
	SOURCE_CONTROL,
	SOURCE_PROCESS = 1ull << 32,
};

static void watch_fd(int fd, uint32_t events, uint64_t source)
{
	struct epoll_event ev = { .events = events, .data.u64 = source };

	if (epoll_ctl(run.epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
		die("epoll_ctl(ADD) of fd %d failed: %s", fd, strerror(errno));
}

/* epoll with pidfds registered once replaces a poll() over every live
 * process's pidfd, which cost a scan of all of them per notification. */
void event_loop_watch_process(struct process *p)
{
	/* make_epoll_set adds processes seen before the loop started. */
	if (run.epoll_fd >= 0 && p->pidfd >= 0)
		watch_fd(p->pidfd, EPOLLIN, SOURCE_PROCESS | (uint32_t)p->tgid);
}

/* Registers the control channel for POLLOUT only while output is queued,
 * and removes it once the host is gone. */
static void update_control_watch(void)
{
	static int watched_fd = -1;
	static uint32_t watched_events;
	int fd = control_fd();
	uint32_t events = EPOLLIN | (control_wants_write() ? EPOLLOUT : 0);
	struct epoll_event ev = { .events = events, .data.u64 = SOURCE_CONTROL };

	if (fd == watched_fd && (fd < 0 || events == watched_events))
		return;
	if (watched_fd >= 0)
		epoll_ctl(run.epoll_fd, EPOLL_CTL_DEL, watched_fd, NULL);
	watched_fd = fd;
	watched_events = events;
	if (fd >= 0 && epoll_ctl(run.epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0)
		die("epoll_ctl(ADD) of the control fd failed: %s", strerror(errno));
}

static void make_epoll_set(void)
{
	run.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (run.epoll_fd < 0)
		die("epoll_create1 failed: %s", strerror(errno));
	watch_fd(run.child.listener, EPOLLIN, SOURCE_LISTENER);
	watch_fd(run.signal_fd, EPOLLIN, SOURCE_SIGNAL);
	watch_fd(run.timer_fd, EPOLLIN, SOURCE_TIMER);
	watch_fd(run.child.exec_error_fd, EPOLLIN, SOURCE_EXEC_RESULT);
	for (size_t i = 0; i < proc_live_count(); i++)
		event_loop_watch_process(proc_live()[i]);
}

struct ready {
	bool listener, signal, timer, exec_result;
	uint32_t control;
	pid_t exited[64];
	size_t exited_count;
};

static void sort_events(const struct epoll_event *events, int n,
			struct ready *r)
{
	for (int i = 0; i < n; i++) {
		uint64_t source = events[i].data.u64;
		bool readable = events[i].events & EPOLLIN;

		if (source >= SOURCE_PROCESS)
			r->exited[r->exited_count++] = (pid_t)(uint32_t)source;
		else if (source == SOURCE_LISTENER)
			r->listener = readable;
		else if (source == SOURCE_SIGNAL)
			r->signal = readable;
		else if (source == SOURCE_TIMER)
			r->timer = readable;
		else if (source == SOURCE_EXEC_RESULT)
			r->exec_result = true;
		else if (source == SOURCE_CONTROL)
			r->control = events[i].events;
	}
}

static void dispatch(const struct ready *r)
{
	if (r->listener)
		notify_handle_one();
	if (r->exec_result) {
		epoll_ctl(run.epoll_fd, EPOLL_CTL_DEL, run.child.exec_error_fd, NULL);
		on_exec_result();
	}
	if (r->control & EPOLLOUT)
		control_on_writable();
	if (r->control & (EPOLLIN | EPOLLHUP | EPOLLERR))
		control_on_readable();
	/* pidfds before SIGCHLD: a zombie's status is still readable. */
	for (size_t i = 0; i < r->exited_count; i++) {
		struct process *p = proc_find(r->exited[i]);

		if (p)
			proc_finish_from_pidfd(p);
	}
	if (r->signal)
		on_signal();
	if (r->timer)
		on_timer();
}

/* Ends the run after the host died: SIGKILL to the whole tree, reap it,
 * write every buffer out and exit with the core's failure status. */
static _Noreturn void abandon_run(void)
{
	kill_remaining();
	while (proc_live_count() > 0)
		proc_finish_from_pidfd(proc_live()[0]);
	exit(CORE_EXIT_FAILURE);
}

static void event_loop(void)
{
	struct epoll_event events[64];

	make_epoll_set();
	while (!(run.root_done && run.tree_empty)) {
		struct ready ready = { 0 };
		int n;

		update_control_watch();
		n = epoll_wait(run.epoll_fd, events, 64, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait failed: %s", strerror(errno));
		}
		sort_events(events, n, &ready);
		dispatch(&ready);
		if (control_host_lost())
			abandon_run();
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
	merged_dir_cleanup();
	control_send_finished(&f);
	control_flush_blocking(1000);
	return code;
}

int main(int argc, char **argv)
{
	struct options o = parse_options(argc, argv);
	uint64_t boot, real;
	struct timespec ts;

	run.epoll_fd = -1;
	control_init(o.control_fd);
	run.buffer_dir_fd = open_buffer_dir(o.buffer_dir);
	trace_init(run.buffer_dir_fd);
	path_init();
	setup_layers(&o);
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
	if (shim_library) {
		if (access(shim_library, R_OK) != 0)
			die("--shim %s cannot be read: %s; reinstall uwrx or leave the fast path off", shim_library, strerror(errno));
		o.environment = shim_environment(o.environment);
	}
	launch_command(o.command, o.environment, &run.child);
	determinism.root_pid = run.child.pid;
	notify_init(run.child.listener);
	control_send_started(run.child.pid, boot, real);
	log_debug("started %s as %d", o.command[0], (int)run.child.pid);

	event_loop();
	return finish();
}
