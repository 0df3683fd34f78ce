/*
 * The seccomp filter: native-architecture calls of interest go to the
 * user-notification listener, io_uring is refused, the rest is allowed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "determinism.h"
#include "overlay.h"
#include "shim-abi.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#if defined(__x86_64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "uwrx-core supports x86_64 and aarch64"
#endif

/* x32 calls arrive with the x86_64 audit arch and this bit set. */
#define X32_SYSCALL_BIT 0x40000000

static const int notified_calls[] = {
#ifdef __NR_open
	__NR_open,
#endif
	__NR_openat, __NR_openat2,
#ifdef __NR_creat
	__NR_creat,
#endif
#ifdef __NR_stat
	__NR_stat,
#endif
#ifdef __NR_lstat
	__NR_lstat,
#endif
	__NR_newfstatat, __NR_statx,
#ifdef __NR_access
	__NR_access,
#endif
	__NR_faccessat, __NR_faccessat2,
#ifdef __NR_readlink
	__NR_readlink,
#endif
	__NR_readlinkat,
#ifdef __NR_unlink
	__NR_unlink,
#endif
	__NR_unlinkat,
#ifdef __NR_rename
	__NR_rename,
#endif
	__NR_renameat, __NR_renameat2,
#ifdef __NR_mkdir
	__NR_mkdir,
#endif
	__NR_mkdirat,
#ifdef __NR_rmdir
	__NR_rmdir,
#endif
#ifdef __NR_chmod
	__NR_chmod,
#endif
	__NR_fchmodat,
#ifdef __NR_chown
	__NR_chown,
#endif
#ifdef __NR_lchown
	__NR_lchown,
#endif
	__NR_fchownat, __NR_utimensat, __NR_chdir, __NR_fchdir, __NR_umask,
	__NR_execve, __NR_execveat, __NR_exit, __NR_exit_group,
};
/* Calls that create or change files without any other notified call,
 * and getcwd. With --upper they must reach the core, so that the base
 * stays unchanged and the cwd is reported on the merged view; without
 * it the kernel performs them unseen. */
static const int layered_calls[] = {
#ifdef __NR_symlink
	__NR_symlink,
#endif
#ifdef __NR_link
	__NR_link,
#endif
#ifdef __NR_mknod
	__NR_mknod,
#endif
	__NR_symlinkat, __NR_linkat, __NR_mknodat, __NR_truncate, __NR_getcwd,
	__NR_fchmod, __NR_fchown, __NR_ftruncate,
	__NR_setxattr, __NR_lsetxattr, __NR_getxattr, __NR_lgetxattr,
	__NR_listxattr, __NR_llistxattr, __NR_removexattr, __NR_lremovexattr,
};

/*
 * fork, vfork, clone and clone3 are not notified. A signal that arrives
 * before the core has received a notification ends the wait with
 * -ERESTARTSYS, which becomes EINTR under a handler without SA_RESTART
 * (dash's SIGCHLD handler), while the kernel's own fork restarts itself
 * with -ERESTARTNOINTR. Under load, children exiting during a burst of
 * forks made the shell fail with "Cannot fork". The core learns about a
 * new process or thread from its first notified call instead.
 */

#define MAX_FILTER_LEN 256

static void emit(struct sock_filter *prog, size_t *len, struct sock_filter insn)
{
	if (*len >= MAX_FILTER_LEN)
		die("seccomp filter exceeds %d instructions", MAX_FILTER_LEN);
	prog[(*len)++] = insn;
}

/*
 * Allows a stat call with AT_EMPTY_PATH in the flags argument (the low 32
 * bits of args[flags_arg]) and notifies it otherwise. fstat in glibc 2.36
 * is newfstatat(fd, "", buf, AT_EMPTY_PATH): a stat of an open fd, which
 * resolves no path and is not traced. A C build makes one after most
 * opens.
 * NOTE: the filter cannot read the path, so a lookup of a non-empty path
 * that also sets AT_EMPTY_PATH goes unseen and unrecorded too.
 */
static void emit_fd_stat_allow(struct sock_filter *prog, size_t *len, int nr,
			       int flags_arg)
{
	uint32_t flags_offset = offsetof(struct seccomp_data, args[0]) +
				(uint32_t)flags_arg * sizeof(__u64);

	emit(prog, len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 4));
	emit(prog, len, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, flags_offset));
	emit(prog, len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, AT_EMPTY_PATH, 0, 1));
	emit(prog, len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	emit(prog, len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
}

/* Notifies a call nr whose output fd (the low 32 bits of args[fd_arg])
 * is 1 or 2, and allows it with any other fd. Leaves the syscall number
 * in the accumulator for the checks that follow when nr does not match. */
static void emit_output_fd_check(struct sock_filter *prog, size_t *len,
				 int nr, int fd_arg)
{
	uint32_t fd_offset = offsetof(struct seccomp_data, args[0]) +
			     (uint32_t)fd_arg * sizeof(__u64);

	emit(prog, len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 5));
	emit(prog, len, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, fd_offset));
	emit(prog, len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 2, 0));
	emit(prog, len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 2, 1, 0));
	emit(prog, len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	emit(prog, len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
}

/*
 * Notifies clock_gettime of the wall clocks that determinism.c serves
 * from virtual time (--seed without --time real) and allows every other
 * clock id: monotonic, boot-time and CPU-time reads stay real and cost
 * no notification. The kernel takes the clock id as a 32-bit int, so
 * only the low half of args[0] counts.
 */
static void emit_wall_clock_check(struct sock_filter *prog, size_t *len)
{
	static const uint32_t wall_clocks[] = { CLOCK_REALTIME, CLOCK_REALTIME_COARSE, CLOCK_REALTIME_ALARM, CLOCK_TAI };
	const uint8_t count = sizeof(wall_clocks) / sizeof(wall_clocks[0]);

	/* Skips the id load, the id checks and both returns. */
	emit(prog, len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clock_gettime, 0, count + 3));
	emit(prog, len, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])));
	for (uint8_t i = 0; i < count; i++)
		emit(prog, len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, wall_clocks[i], count - i, 0));
	emit(prog, len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	emit(prog, len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
}

#ifdef __x86_64__
/*
 * Allows readlinkat, newfstatat, faccessat and openat without a flag that
 * writes or creates (shim-abi.h) when the shim's trampoline makes them:
 * they cost no notification. All of them only look at files. Leaves the
 * syscall number in the accumulator.
 */
static void emit_trampoline_allow(struct sock_filter *prog, size_t *len)
{
	const uint32_t ip_low = offsetof(struct seccomp_data, instruction_pointer);
	const uint32_t flags = offsetof(struct seccomp_data, args[2]);
	const uint64_t end = SHIM_TRAMPOLINE_SYSCALL_END;

	/* 0-3: which call; 4-5: open flags; 6-10: the caller; 11: reload. */
	emit(prog, len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_readlinkat, 5, 0));
	emit(prog, len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_newfstatat, 4, 0));
	emit(prog, len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_faccessat, 3, 0));
	emit(prog, len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat, 0, 8));
	emit(prog, len, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, flags));
	emit(prog, len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SHIM_OPEN_NOTIFIED_FLAGS, 5, 0));
	emit(prog, len, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ip_low + 4));
	emit(prog, len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(end >> 32), 0, 3));
	emit(prog, len, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ip_low));
	emit(prog, len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)end, 0, 1));
	emit(prog, len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	emit(prog, len, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
}
#endif

static size_t build_filter(struct sock_filter *prog)
{
	size_t len = 0;
	size_t count = sizeof(notified_calls) / sizeof(notified_calls[0]);
	int det_calls[8];
	size_t det_count = det_notified_calls(det_calls, 8);

	emit(prog, &len, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
	emit(prog, &len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_AUDIT_ARCH, 1, 0));
	emit(prog, &len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
	emit(prog, &len, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
#ifdef __x86_64__
	emit(prog, &len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT, 0, 1));
	emit(prog, &len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
#endif
	/* Programs fall back to plain syscalls when io_uring is missing;
	 * its submissions would bypass this filter. */
	emit(prog, &len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1));
	emit(prog, &len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));

#ifdef __x86_64__
	if (shim_library)
		emit_trampoline_allow(prog, &len);
#endif
	/* Under --seed the core rewrites the times that fstat reports, and
	 * with --upper it reports a merged directory for the synthetic one
	 * behind an fd, so fd stats notify like the other stat calls. */
	if (!determinism.enabled && !overlay.enabled) {
		emit_fd_stat_allow(prog, &len, __NR_newfstatat, 3);
		emit_fd_stat_allow(prog, &len, __NR_statx, 2);
	}
	for (size_t i = 0; i < count; i++) {
		emit(prog, &len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)notified_calls[i], 0, 1));
		emit(prog, &len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
	}
	for (size_t i = 0; overlay.enabled && i < sizeof(layered_calls) / sizeof(layered_calls[0]); i++) {
		emit(prog, &len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)layered_calls[i], 0, 1));
		emit(prog, &len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
	}
	/* NOTE: RDRAND and RDSEED are CPU instructions, not syscalls, so no
	 * filter sees them. A program that takes random bytes from them
	 * (some crypto libraries mix them in) stays random under --seed. */
	for (size_t i = 0; i < det_count; i++) {
		emit(prog, &len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)det_calls[i], 0, 1));
		emit(prog, &len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
	}
	if (determinism.enabled && determinism.time != TIME_REAL)
		emit_wall_clock_check(prog, &len);

	emit_output_fd_check(prog, &len, __NR_sendfile, 0);
	emit_output_fd_check(prog, &len, __NR_copy_file_range, 2);
	emit_output_fd_check(prog, &len, __NR_splice, 2);

	/* write and writev notify only for fd 1 and 2: the low 32 bits of
	 * args[0], which sit first on a little-endian machine. */
	emit(prog, &len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_write, 1, 0));
	emit(prog, &len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_writev, 0, 5));
	emit(prog, &len, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])));
	emit(prog, &len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 2, 0));
	emit(prog, &len, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 2, 1, 0));
	emit(prog, &len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	emit(prog, &len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
	emit(prog, &len, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
	return len;
}

/*
 * Installs the filter on the calling thread and returns the listener fd,
 * or -errno. WAIT_KILLABLE_RECV (Linux 5.19) keeps a notified call
 * interruptible only by fatal signals once the core has received it;
 * older kernels reject the flag, so the call is retried without it.
 */
int install_filter(void)
{
	struct sock_filter prog[MAX_FILTER_LEN];
	struct sock_fprog fprog = { .len = (unsigned short)build_filter(prog),
				    .filter = prog };
	unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER |
			      SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
	long fd;

	fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
	if (fd < 0 && errno == EINVAL) {
		flags &= ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
		fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
	}
	return fd < 0 ? -errno : (int)fd;
}
