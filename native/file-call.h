/*
 * One decoded file call of the tracee, shared by handle-file.c and the
 * layered variants of its operations in layered-file.c.
 */
#ifndef UWRX_FILE_CALL_H
#define UWRX_FILE_CALL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core.h"

enum file_op {
	OP_NONE,
	OP_OPEN,
	OP_OPENAT2,
	OP_STAT,
	OP_STATX,
	OP_ACCESS,
	OP_FACCESSAT2,
	OP_READLINK,
	OP_UNLINK,
	OP_RENAME,
	OP_MKDIR,
	OP_CHMOD,
	OP_CHOWN,
	OP_UTIMENS,
	OP_CHDIR,
	OP_FCHDIR,
	OP_UMASK,
	OP_FSTAT,
	/* Notified only with --upper, which must keep them off the base. */
	OP_SYMLINK,
	OP_LINK,
	OP_TRUNCATE,
	OP_MKNOD,
};

struct file_call {
	enum event_name name;
	enum file_op op;
	int dirfd;
	uint64_t path_addr;
	int dirfd2;
	uint64_t path2_addr;
	bool has_flags;
	uint64_t flags;
	bool has_mode;
	mode_t mode;
	int at_flags;
	uint64_t buf;  /* also the target string of symlink */
	uint64_t size; /* also the length of truncate, the device of mknod */
	uid_t uid;
	gid_t gid;
	bool empty_path_ok; /* AT_EMPTY_PATH applies to an empty path */
};

int64_t layered_prepare(struct call *c, const struct file_call *f,
			struct resolved *r, struct resolved *r2);
void layered_fd_target(char *link, size_t size, int *layer);
int layered_host_target(const struct resolved *r, const char *path,
			bool want_dir, char *host, size_t size);
int64_t layered_proc_readlink(struct call *c, const struct file_call *f,
			      const char *abspath);
int64_t layered_getcwd(struct call *c);
int64_t layered_fd_change(struct call *c);
int64_t layered_open_at_host(struct call *c, const struct resolved *r);

/* Returned by layered_prepare when the caller goes on with the call on
 * the host paths it filled in. */
#define LAYERED_PERFORM INT64_MAX

#endif
