/*
 * The ptrace step around one exec, or around a chdir or exec whose path
 * argument must be rewritten. With --upper a program or directory that
 * exists only in a layer has a host path that differs from the path the
 * tracee passed. Seccomp cannot change arguments, so at the interrupt
 * stop the core writes the host path below the red zone of the stack and
 * points the argument register at it.
 *
 * Under --seed the core also patches the new image of every exec. The exec stop is the
 * only moment at which the new image exists and none of its instructions
 * have run, so the core writes AT_RANDOM there (static binaries read it
 * before their first syscall) and, unless --time real, hides the vDSO by
 * turning the AT_SYSINFO_EHDR auxv entry into AT_IGNORE, so that libc
 * makes real syscalls to read the time: the filter notifies the wall
 * clocks and allows the others.
 *
 * Sequence per exec: PTRACE_SEIZE + PTRACE_INTERRUPT at the notification,
 * which is answered with -ERESTARTNOINTR so the call restarts once the
 * thread leaves the interrupt stop; PTRACE_SYSCALL from there on, so that
 * both PTRACE_EVENT_EXEC (success) and the syscall-exit stop of a failed
 * exec arrive; the restarted call's notification is answered with
 * CONTINUE. Stops arrive as SIGCHLD and are handled from the event loop,
 * so the core keeps answering other notifications meanwhile.
 */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>

#include "core.h"
#include "determinism.h"

#ifndef ERESTARTNOINTR
#define ERESTARTNOINTR 513 /* kernel-internal: restart the call, always */
#endif
#define AUXV_AT_IGNORE 1
#define AUXV_AT_RANDOM 25
#define AUXV_AT_SYSINFO_EHDR 33
/* Bytes above the initial stack pointer that the core reads to find the
 * auxiliary vector: argc, the argv and envp pointers, then the auxv. */
#define STACK_SCAN_BYTES (512u << 10)

/* Bytes below the stack pointer that x86-64 leaf functions may use
 * without moving it (the System V ABI red zone). */
#define RED_ZONE_BYTES 128

struct traced_exec {
	pid_t tid;
	pid_t tgid;
	int nr;           /* the traced call */
	bool patch_image; /* --seed: write AT_RANDOM and hide the vDSO */
	uint8_t at_random[PRNG_AT_RANDOM_BYTES];
	char *new_path;   /* host path for argument path_arg, or NULL */
	int path_arg;
	bool call_entered; /* the restarted call passed its syscall-entry stop */
};

static struct traced_exec *traced;
static size_t traced_count;
static bool warned_seize;

static struct traced_exec *find_traced(pid_t pid)
{
	for (size_t i = 0; i < traced_count; i++)
		if (traced[i].tid == pid || traced[i].tgid == pid)
			return &traced[i];
	return NULL;
}

static void forget(struct traced_exec *t)
{
	free(t->new_path);
	*t = traced[--traced_count];
}

bool exec_trace_owns(pid_t tid)
{
	for (size_t i = 0; i < traced_count; i++)
		if (traced[i].tid == tid)
			return true;
	return false;
}

/*
 * Starts the ptrace step for the call c: an exec whose new image gets
 * patched when image_seed is not NULL, and whose argument path_arg is
 * replaced with new_path when that is not NULL. Returns false (and the
 * caller lets the call run untouched) when the thread cannot be seized,
 * as when strace or gdb already traces it.
 */
bool exec_trace_begin(struct call *c, const uint8_t *image_seed,
		      const char *new_path, int path_arg)
{
	struct traced_exec t = { .tid = c->tid, .tgid = c->proc->tgid,
				 .nr = c->req->data.nr, .path_arg = path_arg };
	long options = PTRACE_O_TRACEEXEC | PTRACE_O_TRACESYSGOOD |
		       PTRACE_O_EXITKILL;

	if (ptrace(PTRACE_SEIZE, c->tid, 0, options) != 0) {
		int err = errno;

		if (!warned_seize) {
			warned_seize = true;
			control_send_warning("ptrace of %d at exec failed (%s), maybe it is traced already; its AT_RANDOM and vDSO clocks stay random", (int)c->tid, strerror(err));
		}
		log_debug("PTRACE_SEIZE of %d failed: %s", (int)c->tid, strerror(err));
		return false;
	}
	if (ptrace(PTRACE_INTERRUPT, c->tid, 0, 0) != 0) {
		log_debug("PTRACE_INTERRUPT of %d failed: %s", (int)c->tid, strerror(errno));
		ptrace(PTRACE_DETACH, c->tid, 0, 0);
		return false;
	}
	if (image_seed) {
		t.patch_image = true;
		prng_at_random(image_seed, t.at_random);
	}
	if (new_path)
		t.new_path = xstrdup(new_path);
	traced = xrealloc(traced, (traced_count + 1) * sizeof(*traced));
	traced[traced_count++] = t;
	/* The thread stops for the interrupt on its way out of the call, then
	 * enters exec again. */
	call_return(c, -ERESTARTNOINTR);
	return true;
}

static bool read_stack_pointer(pid_t pid, uint64_t *sp)
{
	struct user_regs_struct regs;
	struct iovec iov = { &regs, sizeof(regs) };

	if (ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &iov) != 0)
		return false;
#if defined(__x86_64__)
	*sp = regs.rsp;
#elif defined(__aarch64__)
	*sp = regs.sp;
#endif
	return true;
}

#if defined(__x86_64__)
static unsigned long long *argument_register(struct user_regs_struct *regs,
					     int arg)
{
	switch (arg) {
	case 0:
		return &regs->rdi;
	case 1:
		return &regs->rsi;
	default:
		return NULL;
	}
}
#endif

/*
 * Writes t's new path below the red zone of the stopped thread's stack and
 * points the argument register at it. The thread is in the interrupt stop
 * after -ERESTARTNOINTR, so the kernel restarts the call with the changed
 * register. Returns false when the path stays as the tracee passed it.
 * NOTE: a signal handler that runs before the restart builds its frame
 * in the same stack area and can overwrite the path.
 */
static bool write_new_path(pid_t pid, const struct traced_exec *t)
{
#if defined(__x86_64__)
	struct user_regs_struct regs;
	struct iovec iov = { &regs, sizeof(regs) };
	size_t len = strlen(t->new_path) + 1;
	unsigned long long *reg;
	uint64_t addr;

	if (ptrace(PTRACE_GETREGSET, pid, NT_PRSTATUS, &iov) != 0)
		return false;
	reg = argument_register(&regs, t->path_arg);
	if (!reg)
		return false;
	addr = (regs.rsp - RED_ZONE_BYTES - len) & ~(uint64_t)15;
	if (tracee_write(pid, addr, t->new_path, len) != (ssize_t)len)
		return false;
	*reg = addr;
	return ptrace(PTRACE_SETREGSET, pid, NT_PRSTATUS, &iov) == 0;
#else
	/* NOTE: on aarch64 the restart reloads x0 from orig_x0, which
	 * PTRACE_SETREGSET cannot change, so paths are not rewritten. */
	(void)pid;
	(void)t;
	return false;
#endif
}

/* Finds the auxv in the words read from the new stack: argc, argv and
 * NULL, envp and NULL, then (type, value) pairs up to AT_NULL. Returns the
 * index of the first auxv word, or 0 when the words end before it. */
static size_t find_auxv(const uint64_t *words, size_t count)
{
	size_t i = 1 + words[0] + 1;

	if (words[0] >= count)
		return 0;
	while (i < count && words[i] != 0)
		i++;
	return i + 1 < count ? i + 1 : 0;
}

static void record_at_random(pid_t pid, const struct traced_exec *t)
{
	struct process *p = proc_find(t->tgid);
	static const char digits[] = "0123456789abcdef";
	char hex[2 * PRNG_AT_RANDOM_BYTES + 1];
	struct event ev;

	(void)pid;
	if (!p || p->thread_count == 0)
		return;
	for (size_t i = 0; i < PRNG_AT_RANDOM_BYTES; i++) {
		hex[2 * i] = digits[t->at_random[i] >> 4];
		hex[2 * i + 1] = digits[t->at_random[i] & 15];
	}
	hex[sizeof(hex) - 1] = '\0';
	trace_event_begin(&ev, p, &p->threads[0], EV_AT_RANDOM, CAT_RANDOM);
	ann_string(&ev, AN_DATA, hex);
	ann_int(&ev, AN_BYTES, PRNG_AT_RANDOM_BYTES);
	trace_event_end(&ev);
}

/* Patches the new image at its exec stop. */
static void patch_new_image(pid_t pid, const struct traced_exec *t)
{
	uint64_t *words = xmalloc(STACK_SCAN_BYTES);
	uint64_t sp, ignore = AUXV_AT_IGNORE;
	ssize_t n = -1;
	size_t count, auxv;

	if (read_stack_pointer(pid, &sp))
		n = tracee_read(pid, sp, words, STACK_SCAN_BYTES);
	count = n > 0 ? (size_t)n / sizeof(uint64_t) : 0;
	auxv = count ? find_auxv(words, count) : 0;
	if (!auxv) {
		control_send_warning("auxiliary vector of %d not found after exec; AT_RANDOM and the vDSO are left as the kernel set them", (int)pid);
		free(words);
		return;
	}
	for (size_t i = auxv; i + 1 < count && words[i] != 0; i += 2) {
		uint64_t type_addr = sp + i * sizeof(uint64_t);

		if (words[i] == AUXV_AT_RANDOM &&
		    tracee_write(pid, words[i + 1], t->at_random, PRNG_AT_RANDOM_BYTES) != PRNG_AT_RANDOM_BYTES)
			log_debug("writing AT_RANDOM of %d failed: %s", (int)pid, strerror(errno));
		/* With --time real nothing is virtual, so the vDSO keeps
		 * serving every clock without a syscall. */
		if (words[i] == AUXV_AT_SYSINFO_EHDR &&
		    determinism.time != TIME_REAL &&
		    tracee_write(pid, type_addr, &ignore, sizeof(ignore)) != (ssize_t)sizeof(ignore))
			log_debug("hiding the vDSO of %d failed: %s", (int)pid, strerror(errno));
	}
	free(words);
	record_at_random(pid, t);
}

/* Returns true for the syscall-exit stop of the restarted call, which
 * for an exec means that it failed. Entry stops of the call mark it as
 * entered; stops of other calls (from a signal handler) are passed. */
static bool is_call_exit(pid_t pid, struct traced_exec *t)
{
	struct __ptrace_syscall_info info;

	memset(&info, 0, sizeof(info));
	if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof(info), &info) <= 0)
		return t->call_entered;
	if (info.op == PTRACE_SYSCALL_INFO_ENTRY) {
		t->call_entered = (int)info.entry.nr == t->nr;
		return false;
	}
	return info.op == PTRACE_SYSCALL_INFO_EXIT && t->call_entered;
}

static void detach(pid_t pid, struct traced_exec *t, int signal)
{
	if (ptrace(PTRACE_DETACH, pid, 0, signal) != 0 && errno != ESRCH)
		log_debug("PTRACE_DETACH of %d failed: %s", (int)pid, strerror(errno));
	forget(t);
}

/* Handles a wait status of pid. Returns true when pid is a thread in the
 * ptrace step, so the status is not an exit of interest to the caller. */
bool exec_trace_on_wait(pid_t pid, int status)
{
	struct traced_exec *t = find_traced(pid);
	int event = status >> 16;
	int sig;

	if (!t)
		return false;
	if (!WIFSTOPPED(status)) {
		/* Exited or killed during the step. The status belongs to the
		 * process table too. */
		forget(t);
		return false;
	}
	sig = WSTOPSIG(status);
	if (event == PTRACE_EVENT_EXEC) {
		if (t->patch_image)
			patch_new_image(pid, t);
		detach(pid, t, 0);
	} else if (sig == (SIGTRAP | 0x80)) {
		if (is_call_exit(pid, t))
			detach(pid, t, 0);
		else
			ptrace(PTRACE_SYSCALL, pid, 0, 0);
	} else if (event == PTRACE_EVENT_STOP) {
		/* The interrupt stop, or a group stop, which PTRACE_SYSCALL
		 * ends as the real stop would end on SIGCONT. The path is
		 * written once, at the first of them. */
		if (t->new_path && !write_new_path(pid, t))
			log_debug("rewriting the path argument of %d failed", (int)pid);
		free(t->new_path);
		t->new_path = NULL;
		ptrace(PTRACE_SYSCALL, pid, 0, 0);
	} else {
		/* A signal for the tracee: deliver it. */
		ptrace(PTRACE_SYSCALL, pid, 0, sig);
	}
	return true;
}

/* Collects pending stops of the threads in the ptrace step, by thread id
 * and by thread group id (an exec from another thread than the leader is
 * reported under the thread group id). waitid with only WSTOPPED leaves
 * exit statuses to the core's reaper. For a ptrace stop, si_status holds
 * the whole stop code, PTRACE_EVENT bits included. */
void exec_trace_poll(void)
{
	size_t i = 0;

	while (i < traced_count) {
		pid_t ids[2] = { traced[i].tid, traced[i].tgid };
		bool handled = false;

		for (int k = 0; k < 2 && !handled; k++) {
			siginfo_t info;

			memset(&info, 0, sizeof(info));
			if (waitid(P_PID, (id_t)ids[k], &info, WSTOPPED | __WALL | WNOHANG) != 0 ||
			    info.si_pid == 0)
				continue;
			handled = true;
			exec_trace_on_wait(info.si_pid, (info.si_status << 8) | 0x7f);
		}
		/* A handled stop may have removed entry i; look at it again. */
		if (!handled)
			i++;
	}
}
