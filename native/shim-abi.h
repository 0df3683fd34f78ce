/*
 * The contract between uwrx-core and the preloaded shim (shim/uwrx-shim.c),
 * the in-process fast path.
 *
 * The shim performs realpath(), read-only open(), stat(), lstat(), fstat()
 * of files it opened, and access() inside the traced process. Its calls
 * go through a trampoline page mapped at a fixed address. From that
 * address the seccomp filter allows readlinkat, newfstatat, faccessat and
 * openat without a flag that writes or creates, with no notification.
 * They only look, so a program that jumps into the page can learn about
 * the real files but cannot change them.
 *
 * The shim records each call it performed (fstat, which the core does not
 * record either, aside) in a ring that the core gives it: on the first
 * use it sends a notified readlinkat on a dirfd that no kernel accepts,
 * and the core returns the fd of a memfd that the core has mapped
 * and filled with the layer facts. The shim maps it and closes the fd.
 * Before the core handles any later call of that process, and when the
 * process ends, the core copies the new records into the process's trace
 * buffer. Because the core keeps its own mapping, a process that a
 * signal kills keeps its records. When the ring is full the shim asks
 * the core to drain it with the same call. Records therefore reach the
 * trace in the order in which the process made them, before the calls
 * that follow them.
 *
 * The layout is little-endian x86_64 only: the shim is not built for
 * other machines, and there every call takes the notified path.
 */
#ifndef UWRX_SHIM_ABI_H
#define UWRX_SHIM_ABI_H

#include <stdint.h>

/* readlinkat(SHIM_DIRFD, NULL, NULL, request): the kernel returns EBADF
 * for this dirfd, so a shim that runs outside uwrx turns itself off. */
#define SHIM_DIRFD (-0x7577)
#define SHIM_REQUEST_REGISTER 1
#define SHIM_REQUEST_DRAIN 2

#define SHIM_ABI_MAGIC 0x31766d6968737775ull /* "uwshimv1" in memory */

/* The trampoline: the page, and the address of the instruction after its
 * syscall, which is what seccomp reports as the instruction pointer. */
#define SHIM_TRAMPOLINE_ADDR 0x7e5700000000ull
#define SHIM_TRAMPOLINE_SYSCALL_END (SHIM_TRAMPOLINE_ADDR + 17)

#define SHIM_SLOTS 64
#define SHIM_SLOT_DATA 1000
/* Top-level names that parent layers hold, NUL-separated. */
#define SHIM_LAYER_NAMES 3072

enum shim_op {
	SHIM_OP_READLINK = 1,
	SHIM_OP_OPEN = 2, /* openat(AT_FDCWD, path, flags): read-only opens */
	SHIM_OP_STAT = 3, /* newfstatat(AT_FDCWD, path, flags) */
	SHIM_OP_ACCESS = 4, /* faccessat(AT_FDCWD, path, mode) */
};

/* Flags of an openat that the filter lets the trampoline make: any of
 * these bits sends the call to the core. O_TMPFILE's own bit is
 * 020000000; it shares O_DIRECTORY, which a read may use. */
#define SHIM_OPEN_NOTIFIED_FLAGS \
	(03 /* O_ACCMODE */ | 0100 /* O_CREAT */ | 01000 /* O_TRUNC */ | \
	 02000 /* O_APPEND */ | 020000000 /* O_TMPFILE */)

struct shim_slot {
	uint32_t seq; /* index + 1 once the record is complete */
	int32_t tid;
	uint64_t ts; /* CLOCK_BOOTTIME, ns */
	int32_t op;
	int32_t result; /* length of the target, or -errno */
	uint32_t path_len;    /* the path as the program passed it */
	uint32_t abspath_len; /* the path the shim resolved it to */
	int32_t flags;        /* open and stat flags, access mode */
	uint32_t reserved;
	/* path, NUL, abspath, NUL */
	char data[SHIM_SLOT_DATA];
};

enum shim_state {
	SHIM_OFF = 0, /* not registered: every call takes the notified path */
	SHIM_ACTIVE = 1,
};

/* The fields of the ring after its magic; the core writes them all at
 * registration, and head and tail move afterwards. */
struct shim_facts {
	uint32_t head;   /* next record, advanced by the shim */
	uint32_t tail;   /* first record not yet read, advanced by the core */
	uint32_t state;  /* enum shim_state */
	uint32_t upper_len;
	/* Under --seed, base files report times no later than t0_ns. */
	uint32_t clamp_times;
	/* The shim may perform stat and fstat. False under --seed without
	 * layers, where the run changes real files and only the core tracks
	 * the times it reports for them. */
	uint32_t stat_allowed;
	int64_t t0_ns;
	/* This attempt's writable layer ("" without layers). A top-level
	 * name in it sends the paths below that name to the core. */
	char upper[4096];
	char parent_names[SHIM_LAYER_NAMES];
};

struct shim_ring {
	uint64_t magic; /* SHIM_ABI_MAGIC, written by the core */
	struct shim_facts facts;
	struct shim_slot slots[SHIM_SLOTS];
};

#endif
