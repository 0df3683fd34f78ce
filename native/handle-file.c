/*
 * File calls. The trace needs each call's result, including failed
 * lookups, so the core performs the call itself on a directory fd that
 * stands for the caller's cwd or dirfd and returns the result; a file
 * opened for writing is injected with SECCOMP_IOCTL_NOTIF_ADDFD, and a
 * read-only open that finds its file is left to the kernel. Paths under /proc,
 * /dev and /sys and files that are neither regular files nor directories
 * are left to the kernel (CONTINUE), recorded without a result.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"
#include "determinism.h"
#include "file-call.h"
#include "overlay.h"

static mode_t core_umask = 022;

static void set_flags(struct file_call *f, uint64_t flags)
{
	f->has_flags = true;
	f->flags = flags;
}

static void set_mode(struct file_call *f, uint64_t mode)
{
	f->has_mode = true;
	f->mode = (mode_t)mode;
}

static int64_t result_of(int rc)
{
	return rc == 0 ? 0 : -errno;
}

/* Decodes the arguments of the calls that have no *at() variant. Returns
 * false when nr is none of them. */
static bool decode_legacy(int nr, const __u64 *a, struct file_call *f)
{
	f->dirfd = AT_FDCWD;
	f->path_addr = a[0];
	switch (nr) {
#ifdef __NR_open
	case __NR_open:
		*f = (struct file_call){ .name = EV_OPEN, .op = OP_OPEN, .dirfd = AT_FDCWD, .path_addr = a[0] };
		set_flags(f, a[1]);
		set_mode(f, a[2]);
		return true;
#endif
#ifdef __NR_creat
	case __NR_creat:
		*f = (struct file_call){ .name = EV_CREAT, .op = OP_OPEN, .dirfd = AT_FDCWD, .path_addr = a[0] };
		set_flags(f, O_CREAT | O_WRONLY | O_TRUNC);
		set_mode(f, a[1]);
		return true;
#endif
#ifdef __NR_stat
	case __NR_stat:
		*f = (struct file_call){ .name = EV_STAT, .op = OP_STAT, .dirfd = AT_FDCWD, .path_addr = a[0] };
		f->buf = a[1];
		return true;
#endif
#ifdef __NR_lstat
	case __NR_lstat:
		*f = (struct file_call){ .name = EV_LSTAT, .op = OP_STAT, .dirfd = AT_FDCWD, .path_addr = a[0] };
		f->buf = a[1];
		f->at_flags = AT_SYMLINK_NOFOLLOW;
		return true;
#endif
#ifdef __NR_access
	case __NR_access:
		*f = (struct file_call){ .name = EV_ACCESS, .op = OP_ACCESS, .dirfd = AT_FDCWD, .path_addr = a[0] };
		set_mode(f, a[1]);
		return true;
#endif
#ifdef __NR_readlink
	case __NR_readlink:
		*f = (struct file_call){ .name = EV_READLINK, .op = OP_READLINK, .dirfd = AT_FDCWD, .path_addr = a[0] };
		f->buf = a[1];
		f->size = a[2];
		return true;
#endif
#ifdef __NR_unlink
	case __NR_unlink:
		*f = (struct file_call){ .name = EV_UNLINK, .op = OP_UNLINK, .dirfd = AT_FDCWD, .path_addr = a[0] };
		return true;
#endif
#ifdef __NR_rmdir
	case __NR_rmdir:
		*f = (struct file_call){ .name = EV_RMDIR, .op = OP_UNLINK, .dirfd = AT_FDCWD, .path_addr = a[0] };
		f->at_flags = AT_REMOVEDIR;
		return true;
#endif
#ifdef __NR_rename
	case __NR_rename:
		*f = (struct file_call){ .name = EV_RENAME, .op = OP_RENAME, .dirfd = AT_FDCWD, .path_addr = a[0], .dirfd2 = AT_FDCWD, .path2_addr = a[1] };
		return true;
#endif
#ifdef __NR_mkdir
	case __NR_mkdir:
		*f = (struct file_call){ .name = EV_MKDIR, .op = OP_MKDIR, .dirfd = AT_FDCWD, .path_addr = a[0] };
		set_mode(f, a[1]);
		return true;
#endif
#ifdef __NR_chmod
	case __NR_chmod:
		*f = (struct file_call){ .name = EV_CHMOD, .op = OP_CHMOD, .dirfd = AT_FDCWD, .path_addr = a[0] };
		set_mode(f, a[1]);
		return true;
#endif
#ifdef __NR_chown
	case __NR_chown:
		*f = (struct file_call){ .name = EV_CHOWN, .op = OP_CHOWN, .dirfd = AT_FDCWD, .path_addr = a[0] };
		f->uid = (uid_t)a[1];
		f->gid = (gid_t)a[2];
		return true;
#endif
#ifdef __NR_lchown
	case __NR_lchown:
		*f = (struct file_call){ .name = EV_LCHOWN, .op = OP_CHOWN, .dirfd = AT_FDCWD, .path_addr = a[0] };
		f->uid = (uid_t)a[1];
		f->gid = (gid_t)a[2];
		f->at_flags = AT_SYMLINK_NOFOLLOW;
		return true;
#endif
#ifdef __NR_fstat
	case __NR_fstat:
		*f = (struct file_call){ .name = EV_NEWFSTATAT, .op = OP_FSTAT, .dirfd = (int)a[0] };
		f->buf = a[1];
		return true;
#endif
#ifdef __NR_symlink
	case __NR_symlink:
		*f = (struct file_call){ .name = EV_SYMLINK, .op = OP_SYMLINK, .dirfd = AT_FDCWD, .path_addr = a[1], .buf = a[0] };
		return true;
#endif
#ifdef __NR_link
	case __NR_link:
		*f = (struct file_call){ .name = EV_LINK, .op = OP_LINK, .dirfd = AT_FDCWD, .path_addr = a[0], .dirfd2 = AT_FDCWD, .path2_addr = a[1] };
		return true;
#endif
#ifdef __NR_mknod
	case __NR_mknod:
		*f = (struct file_call){ .name = EV_MKNOD, .op = OP_MKNOD, .dirfd = AT_FDCWD, .path_addr = a[0], .size = a[2] };
		set_mode(f, a[1]);
		return true;
#endif
	case __NR_truncate:
		*f = (struct file_call){ .name = EV_TRUNCATE, .op = OP_TRUNCATE, .dirfd = AT_FDCWD, .path_addr = a[0], .size = a[1] };
		return true;
	case __NR_chdir:
		*f = (struct file_call){ .name = EV_CHDIR, .op = OP_CHDIR, .dirfd = AT_FDCWD, .path_addr = a[0] };
		return true;
	case __NR_fchdir:
		*f = (struct file_call){ .name = EV_CHDIR, .op = OP_FCHDIR };
		return true;
	case __NR_umask:
		*f = (struct file_call){ .name = EV_CHDIR, .op = OP_UMASK };
		set_mode(f, a[0]);
		return true;
	default:
		return false;
	}
}

static bool decode_at(int nr, const __u64 *a, struct file_call *f)
{
	int dirfd = (int)a[0];

	switch (nr) {
	case __NR_openat:
		*f = (struct file_call){ .name = EV_OPENAT, .op = OP_OPEN, .dirfd = dirfd, .path_addr = a[1] };
		set_flags(f, a[2]);
		set_mode(f, a[3]);
		return true;
	case __NR_openat2:
		*f = (struct file_call){ .name = EV_OPENAT2, .op = OP_OPENAT2, .dirfd = dirfd, .path_addr = a[1] };
		f->buf = a[2]; /* struct open_how */
		return true;
	case __NR_newfstatat:
		*f = (struct file_call){ .name = EV_NEWFSTATAT, .op = OP_STAT, .dirfd = dirfd, .path_addr = a[1] };
		f->buf = a[2];
		f->at_flags = (int)a[3];
		set_flags(f, a[3]);
		f->empty_path_ok = true;
		return true;
	case __NR_statx:
		*f = (struct file_call){ .name = EV_STATX, .op = OP_STATX, .dirfd = dirfd, .path_addr = a[1] };
		f->at_flags = (int)a[2];
		set_flags(f, a[2]);
		f->size = a[3]; /* mask */
		f->buf = a[4];
		f->empty_path_ok = true;
		return true;
	case __NR_faccessat:
		*f = (struct file_call){ .name = EV_FACCESSAT, .op = OP_ACCESS, .dirfd = dirfd, .path_addr = a[1] };
		set_mode(f, a[2]);
		return true;
	case __NR_faccessat2:
		*f = (struct file_call){ .name = EV_FACCESSAT2, .op = OP_FACCESSAT2, .dirfd = dirfd, .path_addr = a[1] };
		set_mode(f, a[2]);
		f->at_flags = (int)a[3];
		set_flags(f, a[3]);
		f->empty_path_ok = true;
		return true;
	case __NR_readlinkat:
		*f = (struct file_call){ .name = EV_READLINKAT, .op = OP_READLINK, .dirfd = dirfd, .path_addr = a[1] };
		f->buf = a[2];
		f->size = a[3];
		return true;
	case __NR_unlinkat:
		*f = (struct file_call){ .name = EV_UNLINKAT, .op = OP_UNLINK, .dirfd = dirfd, .path_addr = a[1] };
		f->at_flags = (int)a[2];
		set_flags(f, a[2]);
		return true;
	case __NR_renameat:
		*f = (struct file_call){ .name = EV_RENAMEAT, .op = OP_RENAME, .dirfd = dirfd, .path_addr = a[1], .dirfd2 = (int)a[2], .path2_addr = a[3] };
		return true;
	case __NR_renameat2:
		*f = (struct file_call){ .name = EV_RENAMEAT2, .op = OP_RENAME, .dirfd = dirfd, .path_addr = a[1], .dirfd2 = (int)a[2], .path2_addr = a[3] };
		f->at_flags = (int)a[4];
		set_flags(f, a[4]);
		return true;
	case __NR_mkdirat:
		*f = (struct file_call){ .name = EV_MKDIRAT, .op = OP_MKDIR, .dirfd = dirfd, .path_addr = a[1] };
		set_mode(f, a[2]);
		return true;
	case __NR_fchmodat:
		*f = (struct file_call){ .name = EV_FCHMODAT, .op = OP_CHMOD, .dirfd = dirfd, .path_addr = a[1] };
		set_mode(f, a[2]);
		return true;
	case __NR_fchownat:
		*f = (struct file_call){ .name = EV_FCHOWNAT, .op = OP_CHOWN, .dirfd = dirfd, .path_addr = a[1] };
		f->uid = (uid_t)a[2];
		f->gid = (gid_t)a[3];
		f->at_flags = (int)a[4];
		set_flags(f, a[4]);
		f->empty_path_ok = true;
		return true;
	case __NR_symlinkat:
		*f = (struct file_call){ .name = EV_SYMLINKAT, .op = OP_SYMLINK, .dirfd = (int)a[1], .path_addr = a[2], .buf = a[0] };
		return true;
	case __NR_linkat:
		*f = (struct file_call){ .name = EV_LINKAT, .op = OP_LINK, .dirfd = dirfd, .path_addr = a[1], .dirfd2 = (int)a[2], .path2_addr = a[3] };
		f->at_flags = (int)a[4];
		set_flags(f, a[4]);
		return true;
	case __NR_mknodat:
		*f = (struct file_call){ .name = EV_MKNODAT, .op = OP_MKNOD, .dirfd = dirfd, .path_addr = a[1], .size = a[3] };
		set_mode(f, a[2]);
		return true;
	case __NR_utimensat:
		*f = (struct file_call){ .name = EV_UTIMENSAT, .op = OP_UTIMENS, .dirfd = dirfd, .path_addr = a[1] };
		f->buf = a[2];
		f->at_flags = (int)a[3];
		set_flags(f, a[3]);
		return true;
	default:
		return false;
	}
}

static void use_umask(mode_t mask)
{
	if (mask == core_umask)
		return;
	umask(mask);
	core_umask = mask;
}

/* Settable file status flags that open(2) also honours: F_SETFL with
 * them and without O_NONBLOCK leaves the description as the tracee's own
 * open would have. */
#define OPEN_STATUS_FLAGS (O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME)

/* Results of probe_open_target besides -ENOENT. */
enum open_probe {
	PROBE_CORE_OPENS,   /* lookup failed otherwise, or O_NOFOLLOW link */
	PROBE_KERNEL_OPENS, /* a FIFO, device or file under /proc, /dev, /sys */
	PROBE_FOUND,        /* a regular file or a directory */
};

/* The kernel opens nothing for the tracee but this result: the core
 * answered CONTINUE after its probe found a regular file or directory. */
#define RESULT_FOUND (INT64_MIN + 1)

/*
 * Decides from a stat of the target whether the core may open it: a FIFO
 * or device must not be opened by the core (a FIFO blocks, /dev/tty would
 * become the core's terminal). One fstatat does the work of an O_PATH
 * open, fstat and close. Returns an enum open_probe, or -ENOENT when the
 * open would fail with ENOENT. Open and stat walk the path the same way,
 * so the failed lookup is final. gcc's search of the include path makes
 * most opens of a build fail so.
 */
static int probe_open_target(const struct resolved *r, const char *path,
			     uint64_t flags, struct stat *st)
{
	int at_flags = (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0;

	if (fstatat(r->dirfd, path, st, at_flags) != 0)
		return errno == ENOENT && !(flags & O_CREAT) ? -ENOENT : PROBE_CORE_OPENS;
	if (is_kernel_only_dev(st->st_dev))
		return PROBE_KERNEL_OPENS;
	if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode))
		return PROBE_FOUND;
	/* O_NOFOLLOW on a symlink fails with ELOOP, or opens the link
	 * itself with O_PATH; neither touches a device. */
	return (flags & O_NOFOLLOW) && S_ISLNK(st->st_mode) ? PROBE_CORE_OPENS : PROBE_KERNEL_OPENS;
}

/*
 * Tells whether the kernel, resolving the tracee's own path, opens the
 * file that the probe found. Without layers it does. With layers the
 * kernel walks the real tree, so the layered walk must have found a base
 * file at the lexical path, which means that no upper file, whiteout or
 * symlink took a component's place. The walk must also start from a base
 * directory at its own merged path, not from a directory of a layer or a
 * synthetic merged one. A stat of the tracee's path must then reach the
 * probed inode. It catches what the lexical checks miss, such as ".."
 * after a name that only an upper layer has.
 */
static bool kernel_opens_probed_file(const struct resolved *r,
				     const char *tracee_path, uint64_t flags,
				     const struct stat *probed)
{
	int at_flags = (flags & O_NOFOLLOW) ? AT_SYMLINK_NOFOLLOW : 0;
	struct stat st;

	if (!overlay.enabled)
		return true;
	if (!r->base_file_at_abspath || !r->real_start)
		return false;
	if (fstatat(r->tracee_dirfd, tracee_path, &st, at_flags) != 0)
		return false;
	return st.st_dev == probed->st_dev && st.st_ino == probed->st_ino;
}

static bool opens_read_only(uint64_t flags)
{
	return !(flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) &&
	       (flags & O_TMPFILE) != O_TMPFILE;
}

/* Performs the open and injects the fd. Returns the tracee's fd or
 * -errno, or INT64_MIN or RESULT_FOUND when the kernel must perform the
 * call. */
static int64_t perform_open(struct call *c, const struct resolved *r,
			    const char *path, const char *tracee_path,
			    const struct file_call *f)
{
	struct seccomp_notif_addfd addfd = { 0 };
	int flags = (int)f->flags;
	/* Zeroed, so that a failed probe leaves no inode to match. */
	struct stat st = { 0 };
	int fd, err, tracee_fd, probe;

	probe = probe_open_target(r, path, f->flags, &st);
	if (probe < 0)
		return probe;
	/* Under --seed a symlink to /dev/urandom is served like the device. */
	if (probe == PROBE_KERNEL_OPENS) {
		int64_t rc = det_open_random_source(c, r, path, f->flags, &st);

		if (rc != INT64_MIN ||
		    kernel_opens_probed_file(r, tracee_path, f->flags, &st))
			return rc;
		return layered_open_at_host(c, r);
	}
	/* Injecting an fd with ADDFD_FLAG_SEND wakes the caller without the
	 * listener's same-CPU wake-up, so an open answered that way costs
	 * about 60 us where CONTINUE costs a few. */
	if (probe == PROBE_FOUND && opens_read_only(f->flags) &&
	    kernel_opens_probed_file(r, tracee_path, f->flags, &st))
		return RESULT_FOUND;
	/* ADDFD cannot install an O_PATH file (the kernel's fget skips
	 * them). The kernel opens it, unless the file is in an upper layer
	 * or the kernel's walk reaches another file: then a plain read-only
	 * open stands in for it, or for a symlink (O_NOFOLLOW), which no
	 * other open can reach, the kernel opens the host path.
	 * NOTE: the stand-in needs read permission, where O_PATH needs none. */
	if (flags & O_PATH) {
		if (r->layer <= 0 &&
		    kernel_opens_probed_file(r, tracee_path, f->flags, &st))
			return INT64_MIN;
		if (S_ISLNK(st.st_mode))
			return layered_open_at_host(c, r);
		flags &= ~(O_PATH | O_ACCMODE);
	}

	use_umask(c->proc->umask);
	/* O_NONBLOCK keeps a FIFO that replaced the probed file from
	 * blocking the core; it is cleared again below. */
	fd = openat(r->dirfd, path, flags | O_NONBLOCK | O_CLOEXEC, f->mode);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))) {
		close(fd);
		return r->layer >= 0 ? layered_open_at_host(c, r) : INT64_MIN;
	}
	if (!(flags & O_NONBLOCK))
		fcntl(fd, F_SETFL, flags & OPEN_STATUS_FLAGS);

	addfd.id = c->req->id;
	addfd.flags = SECCOMP_ADDFD_FLAG_SEND;
	addfd.srcfd = (uint32_t)fd;
	addfd.newfd_flags = (flags & O_CLOEXEC) ? O_CLOEXEC : 0;
	tracee_fd = ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd);
	err = errno;
	close(fd);
	/* On another failure the notification is still pending. */
	if (tracee_fd < 0 && err != ENOENT) {
		log_debug("injecting an fd into %d failed: %s", (int)c->tid, strerror(err));
		return INT64_MIN;
	}
	c->answered = true;
	if (tracee_fd >= 0 && (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)))
		det_file_modified(&st);
	return tracee_fd < 0 ? -err : tracee_fd;
}

static int64_t perform_stat(struct call *c, const struct resolved *r,
			    const char *path, const struct file_call *f)
{
	struct stat st;

	if (fstatat(r->dirfd, path, &st, f->at_flags) != 0)
		return -errno;
	if (is_kernel_only_dev(st.st_dev))
		return INT64_MIN;
	det_fix_layer_stat_times(&st, r->layer);
	if (tracee_write(c->tid, f->buf, &st, sizeof(st)) != (ssize_t)sizeof(st))
		return -EFAULT;
	return 0;
}

static int64_t perform_statx(struct call *c, const struct resolved *r,
			     const char *path, const struct file_call *f)
{
	struct statx stx;
	/* The inode number decides which timestamp rule applies. */
	unsigned int mask = (unsigned int)f->size |
			    (determinism.enabled ? STATX_INO : 0);

	if (syscall(SYS_statx, r->dirfd, path, f->at_flags, mask, &stx) != 0)
		return -errno;
	if (is_kernel_only_dev(makedev(stx.stx_dev_major, stx.stx_dev_minor)))
		return INT64_MIN;
	det_fix_layer_statx_times(&stx, r->layer);
	if (tracee_write(c->tid, f->buf, &stx, sizeof(stx)) != (ssize_t)sizeof(stx))
		return -EFAULT;
	return 0;
}

static int64_t perform_readlink(struct call *c, const struct resolved *r,
				const char *path, const struct file_call *f)
{
	char target[PATH_MAX];
	size_t size = f->size < sizeof(target) ? f->size : sizeof(target);
	ssize_t n;

	if ((int)f->size <= 0)
		return -EINVAL;
	n = readlinkat(r->dirfd, path, target, size);
	if (n < 0)
		return -errno;
	if (tracee_write(c->tid, f->buf, target, (size_t)n) != n)
		return -EFAULT;
	return n;
}

/* Returns true when the times were given by the program (touch -d, cp -p):
 * neither is UTIME_NOW and at least one is not UTIME_OMIT. */
static bool sets_explicit_times(const struct timespec times[2])
{
	if (times[0].tv_nsec == UTIME_NOW || times[1].tv_nsec == UTIME_NOW)
		return false;
	return times[0].tv_nsec != UTIME_OMIT || times[1].tv_nsec != UTIME_OMIT;
}

/* Records the new times of a file. Times that the program gave are
 * reported as they are. Times set to now count as a modification. */
static void note_new_times(int dirfd, const char *path, int at_flags,
			   const struct timespec *times)
{
	struct stat st;

	if (!determinism.enabled || fstatat(dirfd, path, &st, at_flags) != 0)
		return;
	if (times && sets_explicit_times(times))
		det_file_times_set(&st);
	else if (!times || times[0].tv_nsec != UTIME_OMIT ||
		 times[1].tv_nsec != UTIME_OMIT)
		det_file_modified(&st);
}

static int64_t perform_utimens(struct call *c, const struct resolved *r,
			       const char *path, const struct file_call *f)
{
	struct timespec times[2];

	if (f->buf &&
	    tracee_read(c->tid, f->buf, times, sizeof(times)) != (ssize_t)sizeof(times))
		return -EFAULT;
	if (utimensat(r->dirfd, path, f->buf ? times : NULL, f->at_flags) != 0)
		return -errno;
	note_new_times(r->dirfd, path, f->at_flags & AT_SYMLINK_NOFOLLOW,
		       f->buf ? times : NULL);
	return 0;
}

/* Records the inodes that a successful rename changed: the one now at the
 * new name and, for RENAME_EXCHANGE, the one now at the old name. */
static void note_renamed(const struct resolved *r, const char *path,
			 const struct resolved *r2, const char *path2,
			 const struct file_call *f)
{
	det_path_modified(r2->dirfd, path2, AT_SYMLINK_NOFOLLOW);
	if (f->at_flags & RENAME_EXCHANGE)
		det_path_modified(r->dirfd, path, AT_SYMLINK_NOFOLLOW);
}

/* Performs a call that changes the file at path and, under --seed, records
 * the change for its timestamps. */
static int64_t perform_change(const struct file_call *f, const char *path,
			      const struct resolved *r, const char *path2,
			      const struct resolved *r2)
{
	int rc;

	switch (f->op) {
	case OP_RENAME:
		rc = (int)syscall(SYS_renameat2, r->dirfd, path, r2->dirfd, path2, (unsigned int)f->at_flags);
		if (rc == 0)
			note_renamed(r, path, r2, path2, f);
		return result_of(rc);
	case OP_MKDIR:
		rc = mkdirat(r->dirfd, path, f->mode);
		if (rc == 0)
			det_path_modified(r->dirfd, path, AT_SYMLINK_NOFOLLOW);
		return result_of(rc);
	case OP_CHMOD:
		rc = fchmodat(r->dirfd, path, f->mode, 0);
		if (rc == 0)
			det_path_modified(r->dirfd, path, 0);
		return result_of(rc);
	case OP_CHOWN:
		rc = fchownat(r->dirfd, path, f->uid, f->gid, f->at_flags);
		if (rc == 0)
			det_path_modified(r->dirfd, path, f->at_flags & AT_SYMLINK_NOFOLLOW);
		return result_of(rc);
	default:
		return INT64_MIN;
	}
}


/* Performs the call in the core. Returns the result, or INT64_MIN when
 * the kernel must perform it. */
static int64_t perform(struct call *c, const struct file_call *f,
		       const char *path, struct resolved *r,
		       const char *path2, struct resolved *r2)
{
	const char *tracee_path = path;

	if (overlay.enabled) {
		int64_t rc;

		use_umask(c->proc->umask);
		rc = layered_prepare(c, f, r, r2);
		if (rc != LAYERED_PERFORM)
			return rc;
		path = r->host;
		path2 = r2->host;
	}
	switch (f->op) {
	case OP_OPEN:
		return perform_open(c, r, path, tracee_path, f);
	case OP_STAT:
		return perform_stat(c, r, path, f);
	case OP_STATX:
		return perform_statx(c, r, path, f);
	case OP_ACCESS:
		return result_of((int)syscall(SYS_faccessat, r->dirfd, path, (int)f->mode));
	case OP_FACCESSAT2:
		return result_of((int)syscall(SYS_faccessat2, r->dirfd, path, (int)f->mode, f->at_flags));
	case OP_READLINK:
		return perform_readlink(c, r, path, f);
	case OP_UNLINK:
		return result_of(unlinkat(r->dirfd, path, f->at_flags));
	case OP_MKDIR:
		use_umask(c->proc->umask);
		return perform_change(f, path, r, path2, r2);
	case OP_RENAME:
	case OP_CHMOD:
	case OP_CHOWN:
		return perform_change(f, path, r, path2, r2);
	case OP_UTIMENS:
		return perform_utimens(c, r, path, f);
	default:
		return INT64_MIN;
	}
}

static void record(struct call *c, const struct file_call *f,
		   const char *path, const struct resolved *r,
		   const char *path2, const struct resolved *r2, int64_t result)
{
	struct event ev;

	trace_ensure_slice(c->proc, c->thread);
	trace_event_begin(&ev, c->proc, c->thread, f->name, CAT_FILE);
	ann_string(&ev, AN_PATH, path);
	ann_string(&ev, AN_ABSPATH, r->abspath);
	if (path2) {
		ann_string(&ev, AN_PATH2, path2);
		ann_string(&ev, AN_ABSPATH2, r2->abspath);
	}
	if (f->has_flags)
		ann_int(&ev, AN_FLAGS, (int64_t)f->flags);
	if (f->has_mode)
		ann_uint(&ev, AN_MODE, f->mode);
	if (result == RESULT_FOUND)
		ann_bool(&ev, AN_FOUND, true);
	else if (result != INT64_MIN)
		ann_int(&ev, AN_RESULT, result);
	trace_event_end(&ev);
}

/* Handles calls that only change the core's view of the process. */
static bool handle_state_call(struct call *c, const struct file_call *f)
{
	if (f->op == OP_UMASK) {
		c->proc->umask = f->mode & 0777;
	} else if (f->op == OP_FCHDIR) {
		proc_drop_cwd(c->proc);
	} else {
		return false;
	}
	call_continue(c);
	return true;
}

/*
 * Tells whether the core must check that the call is still pending before
 * it performs it. A call whose caller has died must not change files, and
 * a /proc/TID file opened for it may belong to a new process that reuses
 * the id. Reads through paths or cached fds need no check: if the caller
 * is gone, the response fails with ENOENT and the result is dropped.
 */
static bool needs_valid_id(const struct file_call *f, const struct resolved *r,
			   const struct resolved *r2)
{
	if (r->opened_proc_file || (r2 && r2->opened_proc_file))
		return true;
	switch (f->op) {
	case OP_STAT:
	case OP_STATX:
	case OP_ACCESS:
	case OP_FACCESSAT2:
	case OP_READLINK:
		return false;
	case OP_OPEN:
		return (f->flags & (O_CREAT | O_TRUNC)) != 0 ||
		       (f->flags & O_TMPFILE) == O_TMPFILE;
	default:
		return true;
	}
}

/*
 * Performs chdir on the merged view: an error the kernel would return,
 * the kernel's own chdir when the tracee's path reaches the same
 * directory (INT64_MIN), or a restart of the call with the host path of
 * the directory in its layer (LAYERED_PERFORM, the call is answered).
 */
static int64_t layered_chdir(struct call *c, const struct resolved *r,
			     const char *path)
{
	char host[PATH_MAX];
	int rc = layered_host_target(r, path, true, host, sizeof(host));

	if (rc < 0)
		return rc;
	if (rc == 0 || !exec_trace_begin(c, NULL, host, 0))
		return INT64_MIN;
	return LAYERED_PERFORM;
}

/* Serves, under --seed, an open of a random source that the core does not
 * perform otherwise: a path under /dev or /proc, or any openat2. Returns
 * the result, or INT64_MIN when the path is no random source. */
static int64_t perform_random_open(struct call *c, const struct file_call *f,
				   const char *path, const struct resolved *r)
{
	uint64_t flags = f->flags;

	if (f->op == OP_OPENAT2 &&
	    tracee_read(c->tid, f->buf, &flags, sizeof(flags)) != (ssize_t)sizeof(flags))
		return INT64_MIN;
	return det_open_random_source(c, r, path, flags, NULL);
}

static void handle_paths(struct call *c, const struct file_call *f,
			 char *path, char *path2)
{
	struct resolved r, r2;
	bool two = f->path2_addr != 0;
	int64_t result = INT64_MIN;

	resolved_init(&r);
	resolved_init(&r2);

	if (resolve_path(c->proc, c->tid, f->dirfd, path, &r) != 0 ||
	    (two && resolve_path(c->proc, c->tid, f->dirfd2, path2, &r2) != 0)) {
		call_continue(c);
		goto out;
	}
	if (f->op == OP_CHDIR) {
		/* NOTE: another thread's call between this drop and the
		 * kernel's chdir can cache the old cwd again. */
		proc_drop_cwd(c->proc);
		if (overlay.enabled && !r.kernel_only && r.vpath[0])
			result = layered_chdir(c, &r, path);
	} else if (overlay.enabled && f->op == OP_READLINK && r.kernel_only) {
		result = layered_proc_readlink(c, f, r.abspath);
	} else if (determinism.enabled &&
		   ((f->op == OP_OPEN && r.kernel_only) || f->op == OP_OPENAT2) &&
		   (result = perform_random_open(c, f, path, &r)) != INT64_MIN) {
		/* Served from the seeded stream. */
	} else if (!r.kernel_only && !(two && r2.kernel_only) &&
		   (!needs_valid_id(f, &r, two ? &r2 : NULL) ||
		    call_still_valid(c))) {
		result = perform(c, f, path, &r, two ? path2 : NULL, &r2);
	}
	/* A result the caller never received is not recorded, as when the
	 * id check fails. */
	if (result == LAYERED_PERFORM)
		result = INT64_MIN; /* restarted with a host path, by ptrace */
	else if (result == INT64_MIN || result == RESULT_FOUND)
		call_continue(c);
	else if (!call_return(c, result))
		result = INT64_MIN;
	record(c, f, path, &r, two ? path2 : NULL, &r2, result);
out:
	resolved_release(&r);
	resolved_release(&r2);
}

/* Names the file behind the tracee's fd (the cwd for AT_FDCWD) as a
 * /proc magic link, which the core's stat follows to the same inode. */
static void fd_link_path(pid_t tid, int fd, char *buf, size_t size)
{
	if (fd == AT_FDCWD)
		snprintf(buf, size, "/proc/%d/cwd", (int)tid);
	else
		snprintf(buf, size, "/proc/%d/fd/%d", (int)tid, fd);
}

/* Stats the tracee's fd into the buffer that the call points to, with the
 * times rewritten. Returns the result, or INT64_MIN when the kernel must
 * perform the call, also to return the right error for a bad fd.
 * NOTE: another thread of the tracee can close and reuse the fd between
 * the notification and this stat, and the stat then reports the new file.
 */
static int64_t perform_fd_stat(struct call *c, const struct file_call *f)
{
	char link[PATH_MAX];
	struct stat st;
	struct statx stx;
	/* AT_SYMLINK_NOFOLLOW would stat the magic link itself. */
	int at_flags = f->at_flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
	int layer = -1;
	dev_t dev;

	if (f->dirfd < 0 && f->dirfd != AT_FDCWD)
		return INT64_MIN;
	fd_link_path(c->tid, f->dirfd, link, sizeof(link));
	if (overlay.enabled)
		layered_fd_target(link, sizeof(link), &layer);
	if (f->op == OP_STATX) {
		if (syscall(SYS_statx, AT_FDCWD, link, at_flags, (unsigned int)f->size | STATX_INO, &stx) != 0)
			return INT64_MIN;
		dev = makedev(stx.stx_dev_major, stx.stx_dev_minor);
	} else {
		if (fstatat(AT_FDCWD, link, &st, at_flags) != 0)
			return INT64_MIN;
		dev = st.st_dev;
	}
	/* The tid may have ended and been reused since the notification. */
	if (is_kernel_only_dev(dev) || !call_still_valid(c))
		return INT64_MIN;
	if (f->op == OP_STATX) {
		if (layer >= 0)
			det_fix_layer_statx_times(&stx, layer);
		else
			det_fix_statx_times(&stx);
		if (tracee_write(c->tid, f->buf, &stx, sizeof(stx)) != (ssize_t)sizeof(stx))
			return -EFAULT;
		return 0;
	}
	if (layer >= 0)
		det_fix_layer_stat_times(&st, layer);
	else
		det_fix_stat_times(&st);
	if (tracee_write(c->tid, f->buf, &st, sizeof(st)) != (ssize_t)sizeof(st))
		return -EFAULT;
	return 0;
}

/* Performs futimens, which is utimensat(fd, NULL, times, 0), on the
 * tracee's fd, so that the new times can be recorded. Returns the result,
 * or INT64_MIN when the kernel must perform the call. */
static int64_t perform_fd_utimens(struct call *c, const struct file_call *f)
{
	char link[64];
	struct timespec times[2];

	/* With a NULL path the kernel rejects AT_SYMLINK_NOFOLLOW (EINVAL). */
	if (f->dirfd < 0 || f->at_flags != 0)
		return INT64_MIN;
	if (f->buf &&
	    tracee_read(c->tid, f->buf, times, sizeof(times)) != (ssize_t)sizeof(times))
		return -EFAULT;
	fd_link_path(c->tid, f->dirfd, link, sizeof(link));
	if (!call_still_valid(c))
		return INT64_MIN;
	/* A read-only open of a base or parent-layer file gives the tracee
	 * that file itself, which the layers must leave unchanged, as for
	 * fchmod. */
	if (overlay.enabled && layered_fd_change(c) == -EROFS)
		return -EROFS;
	if (utimensat(AT_FDCWD, link, f->buf ? times : NULL, 0) != 0)
		return errno == ENOENT ? INT64_MIN : -errno;
	note_new_times(AT_FDCWD, link, 0, f->buf ? times : NULL);
	return 0;
}

/* Handles, under --seed, the calls on a tracee fd whose results carry file
 * times: fstat and its newfstatat and statx forms, and futimens. They are
 * not recorded in the trace, as without --seed, where the filter allows
 * the stats. Returns false when the call is none of them. */
static bool handle_fd_call(struct call *c, const struct file_call *f,
			   const char *path)
{
	int64_t result;

	if (f->op == OP_FSTAT || ((f->op == OP_STAT || f->op == OP_STATX) &&
				  path && path[0] == '\0'))
		result = perform_fd_stat(c, f);
	else if (f->op == OP_UTIMENS && f->path_addr == 0)
		result = perform_fd_utimens(c, f);
	else
		return false;
	if (result == INT64_MIN)
		call_continue(c);
	else
		call_return(c, result);
	return true;
}

/* Answers the path calls on extended attributes, which the layers do not
 * carry: ENOTSUP, which cp -a and tar take as "no attributes here",
 * instead of reading or changing the base behind the layers. */
static bool handle_layered_xattr(struct call *c)
{
	switch (c->req->data.nr) {
	case __NR_setxattr:
	case __NR_lsetxattr:
	case __NR_getxattr:
	case __NR_lgetxattr:
	case __NR_listxattr:
	case __NR_llistxattr:
	case __NR_removexattr:
	case __NR_lremovexattr:
		call_return(c, -ENOTSUP);
		return true;
	default:
		return false;
	}
}

/* Tells whether the ptrace step may restart nr with a host path. */
static bool is_restartable_call(int nr)
{
#ifdef __NR_open
	if (nr == __NR_open)
		return true;
#endif
#ifdef __NR_creat
	if (nr == __NR_creat)
		return true;
#endif
	return nr == __NR_chdir || nr == __NR_openat;
}

/* Handles, with --upper, getcwd, the calls that change a file through
 * an fd, and the calls that the ptrace step restarted with a host path.
 * Returns false for other calls. */
static bool handle_layered_state(struct call *c)
{
	int64_t result;

	if (exec_trace_owns(c->tid) && is_restartable_call(c->req->data.nr)) {
		if (c->req->data.nr == __NR_chdir)
			proc_drop_cwd(c->proc);
		call_continue(c);
		return true;
	}
	switch (c->req->data.nr) {
	case __NR_getcwd:
		result = layered_getcwd(c);
		break;
	case __NR_fchmod:
	case __NR_fchown:
	case __NR_ftruncate:
		result = layered_fd_change(c);
		break;
	default:
		return handle_layered_xattr(c);
	}
	if (result == INT64_MIN)
		call_continue(c);
	else
		call_return(c, result);
	return true;
}

/* Returns true when the call was a file call. */
bool handle_file(struct call *c)
{
	static char path[PATH_MAX], path2[PATH_MAX];
	struct file_call f = { 0 };
	int nr = c->req->data.nr;

	if (overlay.enabled && handle_layered_state(c))
		return true;
	if (!decode_legacy(nr, c->req->data.args, &f) &&
	    !decode_at(nr, c->req->data.args, &f))
		return false;
	if (handle_state_call(c, &f))
		return true;
	/* Fd stats reach the core under --seed, for their times, and with
	 * --upper, for synthetic directories. */
	if ((determinism.enabled || overlay.enabled) && handle_fd_call(c, &f, NULL))
		return true;

	/* An unreadable path (NULL for futimens, or a bad pointer) is left
	 * to the kernel, which returns the right error. */
	if (tracee_read_string(c->tid, f.path_addr, path, sizeof(path)) < 0 ||
	    (f.path2_addr &&
	     tracee_read_string(c->tid, f.path2_addr, path2, sizeof(path2)) < 0)) {
		call_continue(c);
		return true;
	}
	/* fstat-like calls on a tracee fd: nothing to resolve or record. */
	if (path[0] == '\0' && f.empty_path_ok && (f.at_flags & AT_EMPTY_PATH)) {
		if (!(determinism.enabled || overlay.enabled) ||
		    !handle_fd_call(c, &f, path))
			call_continue(c);
		return true;
	}
	handle_paths(c, &f, path, path2);
	return true;
}
