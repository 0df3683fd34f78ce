/*
 * Deterministic runs (--seed): random bytes from per-process seeds, virtual
 * time, file timestamps by layer, and the ptrace step at exec
 * that writes AT_RANDOM and hides the vDSO.
 */
#ifndef UWRX_DETERMINISM_H
#define UWRX_DETERMINISM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "prng.h"

struct call;
struct process;
struct thread;
struct statx;

enum time_mode { TIME_REAL, TIME_FROZEN, TIME_ADVANCING };

struct determinism {
	bool enabled; /* --seed was given */
	uint8_t root_seed[PRNG_SEED_BYTES];
	enum time_mode time;
	uint64_t start_time_ns;  /* virtual CLOCK_REALTIME at the start */
	uint64_t time_step_ns;   /* advance per read in TIME_ADVANCING */
	uint64_t layer_interval_ns; /* I: time between layers, default 1 s */
	uint64_t parent_layers;     /* n: parent layers below this run */
	pid_t root_pid;          /* the command's first process */
};

extern struct determinism determinism;

struct det_child {
	pid_t pid;
	uint64_t index;
};

/* Per-process state, hung off struct process. */
struct det_process {
	uint8_t seed[PRNG_SEED_BYTES];       /* process seed S */
	uint8_t image_seed[PRNG_SEED_BYTES]; /* image seed G */
	uint64_t child_count;  /* children created so far, over the whole life */
	uint64_t exec_count;   /* successful execs so far */
	uint64_t thread_count; /* threads created by the current image */
	struct det_child *assigned; /* numbers given to children not yet seen */
	size_t assigned_count;
	uint64_t time_reads;
	bool warned_stream_end;
};

/* Per-thread state, hung off struct thread. */
struct det_thread {
	struct prng_stream stream;
};

/* Parses one determinism option at argv[*i]. Returns false when argv[*i]
 * is not one of them. Exits with status 125 on a malformed value. */
bool determinism_parse_option(int argc, char **argv, int *i);
void determinism_start(void);

void det_process_created(struct process *p);
void det_thread_added(struct process *p, struct thread *t);
void det_thread_removed(struct thread *t);
void det_process_freed(struct process *p);
void det_exec_committed(struct process *p, struct thread *leader);

enum random_source {
	RANDOM_SOURCE_NONE,
	RANDOM_SOURCE_URANDOM,
	RANDOM_SOURCE_RANDOM,
	RANDOM_SOURCE_UUID,    /* /proc/sys/kernel/random/uuid */
	RANDOM_SOURCE_BOOT_ID, /* /proc/sys/kernel/random/boot_id */
};

struct resolved;

bool det_handle_call(struct call *c);
int64_t det_open_random_source(struct call *c, const struct resolved *r,
			       const char *path, uint64_t flags,
			       const struct stat *st);
size_t det_notified_calls(int *out, size_t max);
void det_child_setup(void);

/* file-times.c */
void file_times_start(void);
void det_file_modified(const struct stat *st);
void det_path_modified(int dirfd, const char *path, int at_flags);
void det_file_times_set(const struct stat *st);
void det_fix_stat_times(struct stat *st);
/* The time T0 of the base layer, in ns since the epoch. */
int64_t det_base_time_ns(void);
void det_fix_statx_times(struct statx *stx);
void det_fix_layer_stat_times(struct stat *st, int layer);
void det_fix_layer_statx_times(struct statx *stx, int layer);

/* exec-trace.c */
bool exec_trace_begin(struct call *c, const uint8_t *image_seed,
		      const char *new_path, int path_arg);
bool exec_trace_owns(pid_t tid);
bool exec_trace_on_wait(pid_t pid, int status);
void exec_trace_poll(void);

#endif
