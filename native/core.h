/*
 * Shared declarations of uwrx-core, the seccomp user-notification
 * supervisor that records a process tree into Perfetto buffer files.
 */
#ifndef UWRX_CORE_H
#define UWRX_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CORE_VERSION "0.1.0"

/* Exit status of the core's own failures, as env(1) and timeout(1) use. */
#define CORE_EXIT_FAILURE 125

/* ---- log.c ---- */

extern bool log_verbose;

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xmalloc(size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);

/* ---- pb.c: protobuf writer ---- */

struct pb {
	uint8_t *data;
	size_t len;
	size_t cap;
};

void pb_reset(struct pb *pb);
void pb_free(struct pb *pb);
void pb_raw(struct pb *pb, const void *bytes, size_t len);
void pb_varint(struct pb *pb, uint64_t value);
void pb_uint(struct pb *pb, uint32_t field, uint64_t value);
void pb_int(struct pb *pb, uint32_t field, int64_t value);
void pb_bytes(struct pb *pb, uint32_t field, const void *bytes, size_t len);
void pb_string(struct pb *pb, uint32_t field, const char *s);
size_t pb_begin(struct pb *pb, uint32_t field);
void pb_end(struct pb *pb, size_t mark);

/* ---- utf8.c ---- */

bool utf8_valid(const uint8_t *s, size_t len);
char *utf8_sanitize(const char *s);
char *base64_encode(const uint8_t *data, size_t len);

/* ---- control.c: the framed protobuf channel to the host ---- */

struct core_finish {
	bool has_exit_code;
	int exit_code;
	bool has_signal;
	int signal;
	int exec_errno;
	uint64_t process_count;
	uint64_t notification_count;
};

void control_init(int fd);
int control_fd(void);
bool control_host_lost(void);
bool control_wants_write(void);
void control_on_writable(void);
void control_on_readable(void);
void control_flush_blocking(int timeout_ms);
void control_send_started(pid_t root, uint64_t boot_ns, uint64_t real_ns);
void control_send_process_started(pid_t pid, pid_t ppid, uint64_t ts,
				  const char *buffer);
void control_send_exec(pid_t pid, pid_t tid, uint64_t ts, char *const *argv,
		       const char *cwd, const char *executable, int err);
void control_send_process_exited(pid_t pid, uint64_t ts, bool has_code,
				 int code, int signal);
void control_send_finished(const struct core_finish *finish);
void control_send_warning(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* Called by control.c for host requests. */
void host_release(const char *buffer, uint64_t offset);
void host_terminate(int signal);

/* ---- clock ---- */

uint64_t now_boottime(void);

/* ---- proc.c: the process table ---- */

struct det_thread;
struct det_process;
struct shim_ring;

struct thread {
	pid_t tid;
	uint32_t index; /* j in the thread track uuid (k << 32) + j */
	struct det_thread *det; /* random stream, with --seed only */
};

struct process {
	pid_t tgid;
	pid_t ppid;
	uint32_t seq; /* trusted_packet_sequence_id, 2, 3, ... */
	char buffer_name[64];
	int buffer_fd;
	struct pb buffer; /* whole frames not yet written */
	uint64_t last_ts;
	int pidfd;
	mode_t umask;
	int cwd_fd; /* O_PATH fd of the cwd, or -1 when not cached */
	char *cwd;  /* path of cwd_fd */
	char *exe;  /* absolute program path, NULL until known */
	char **argv;
	bool slice_open;
	uint64_t slice_track; /* track uuid where the open slice began */
	bool exit_recorded;
	bool has_exit_code;
	int exit_code;
	int exit_signal;
	bool execed;
	struct thread *threads;
	size_t thread_count;
	uint32_t next_thread_index;
	char **interned_names; /* program names, iid = first dynamic + i */
	size_t interned_count;
	struct det_process *det; /* seeds and time reads, with --seed only */
	struct shim_ring *shim_ring; /* the core's mapping of the shim's ring */
};

struct process *proc_find_thread(pid_t tid, struct thread **thread);
struct process *proc_find(pid_t tgid);
struct process *proc_lookup_or_add(pid_t tid, struct thread **thread);
void proc_finish(struct process *p, bool has_code, int code, int signal);
void proc_finish_status(struct process *p, int wait_status);
void proc_finish_from_pidfd(struct process *p);
void proc_note_exit(struct process *p, int code);
char **argv_copy(char *const *argv);
void proc_remove_thread(struct process *p, pid_t tid);
void proc_keep_only_thread(struct process *p, pid_t tid);
struct thread *proc_add_thread(struct process *p, pid_t tid);
void proc_drop_cwd(struct process *p);
int proc_cwd_fd(struct process *p, pid_t tid, bool *opened);
size_t proc_live_count(void);
struct process **proc_live(void);
void proc_flush_all(void);
uint64_t proc_total_count(void);
void proc_set_argv(struct process *p, char **argv);
void free_argv(char **argv);

/* ---- trace.c: Perfetto packets ---- */

enum event_name {
#define EVENT(id, text) EV_##id,
#include "event-names.h"
#undef EVENT
	EV_COUNT
};

enum annotation_name {
	AN_ARGV = 1,
	AN_CWD,
	AN_EXECUTABLE,
	AN_FLAGS,
	AN_PATH,
	AN_ABSPATH,
	AN_RESULT,
	AN_STATUS,
	AN_SIGNAL,
	AN_MODE,
	AN_PATH2,
	AN_ABSPATH2,
	AN_FD,
	AN_DATA,
	AN_DATA_BASE64,
	AN_TERMINAL,
	AN_BYTES,
	AN_TIME_READS,
	AN_PATH_BASE64,
	AN_ABSPATH_BASE64,
	AN_PATH2_BASE64,
	AN_ABSPATH2_BASE64,
	AN_ARGV_BASE64,
	AN_SENT_BY,
	AN_FOUND,
	AN_IN_PROCESS,
	AN_COUNT
};

enum category {
	CAT_PROCESS = 1,
	CAT_FILE,
	CAT_OUTPUT,
	CAT_RANDOM,
};

struct event {
	struct pb packet;
	size_t event_mark;
	struct process *proc;
};

void trace_init(int dir_fd);
void trace_write_core_sequence(void);
void trace_start_process(struct process *p);
void trace_add_thread(struct process *p, struct thread *t);
void trace_event_begin(struct event *ev, struct process *p, struct thread *t,
		       enum event_name name, enum category cat);
void trace_event_begin_at(struct event *ev, struct process *p,
			  struct thread *t, enum event_name name,
			  enum category cat, uint64_t ts);
void trace_event_end(struct event *ev);
void ann_string(struct event *ev, enum annotation_name name, const char *s);
void ann_int(struct event *ev, enum annotation_name name, int64_t value);
void ann_uint(struct event *ev, enum annotation_name name, uint64_t value);
void ann_bool(struct event *ev, enum annotation_name name, bool value);
void ann_argv(struct event *ev, enum annotation_name name, char *const *argv);
void trace_slice_begin(struct process *p, struct thread *t);
void trace_slice_end(struct process *p);
void trace_ensure_slice(struct process *p, struct thread *t);
void trace_process_tree(struct process *p);
void trace_flush(struct process *p);
const char *event_name_text(enum event_name name);

/* ---- tracee-mem.c ---- */

ssize_t tracee_read(pid_t tid, uint64_t addr, void *buf, size_t len);
ssize_t tracee_write(pid_t tid, uint64_t addr, const void *buf, size_t len);
int tracee_read_string(pid_t tid, uint64_t addr, char *buf, size_t size);
char **tracee_read_argv(pid_t tid, uint64_t addr, size_t max_total);

/* ---- path.c ---- */

struct resolved {
	int dirfd;       /* for the core's *at() call */
	/* The directory that the tracee's relative path starts from: its
	 * cwd or dirfd, open in the core. The layered step points dirfd at
	 * host paths and keeps this one. */
	int tracee_dirfd;
	bool close_dirfd; /* tracee_dirfd was opened for this call */
	char abspath[8192];
	bool kernel_only; /* under /proc, /dev or /sys: only the kernel may act */
	bool opened_proc_file; /* opened /proc/TID/cwd or /proc/TID/fd/N */
	/* With --upper: the path on the merged view before "..", "." and
	 * symlinks are resolved (empty when too long), and, once the layered
	 * step has run, the file in its layer and that layer's number. */
	char vpath[8192];
	char host[8192];
	int layer; /* -1 outside the layers */
	/* With --upper: the real cwd or dirfd is the base directory at the
	 * path it has on the merged view, or the path is absolute. */
	bool real_start;
	/* The layered walk found a base file at abspath itself, through no
	 * symlink and without a synthetic directory. */
	bool base_file_at_abspath;
};

int resolve_path(struct process *p, pid_t tid, int dirfd_arg,
		 const char *path, struct resolved *out);
void resolved_init(struct resolved *r);
void resolved_release(struct resolved *r);
bool is_kernel_only_dev(dev_t dev);
void path_init(void);

/* ---- notify.c ---- */

struct seccomp_notif;
struct seccomp_notif_resp;

struct call {
	int listener;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	struct process *proc;
	struct thread *thread;
	pid_t tid;
	bool answered; /* ADDFD with SEND already answered it */
};

void notify_init(int listener);
void notify_handle_one(void);
uint64_t notify_count(void);
bool call_still_valid(struct call *c);
void call_continue(struct call *c);
bool call_return(struct call *c, int64_t result);

/* ---- shim-ring.c: records of the preloaded shim ---- */

extern const char *shim_library; /* --shim, NULL when off */

bool shim_handle_request(struct call *c);
void shim_drain(struct call *c);
void shim_release(struct process *p);
char **shim_environment(char **envp);

/* ---- handle-file.c, handle-process.c ---- */

bool handle_file(struct call *c);
bool handle_process(struct call *c);
void terminal_init(void);

/* ---- launch.c ---- */

struct launch {
	pid_t pid;
	int listener;
	int exec_error_fd; /* readable: errno of a failed execvp, EOF: exec ok */
};

void launch_command(char **argv, char **envp, struct launch *out);

/* ---- main.c ---- */

void event_loop_watch_process(struct process *p);

/* ---- filter.c ---- */

int install_filter(void);

#endif
