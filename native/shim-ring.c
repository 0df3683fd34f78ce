/*
 * The core's side of the in-process fast path: registers the ring of each
 * process whose preloaded shim requests one and copies the records in it
 * into that process's trace buffer. The layout is in shim-abi.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "core.h"
#include "determinism.h"
#include "overlay.h"
#include "shim-abi.h"

const char *shim_library;

#if defined(__x86_64__)

static bool names_ready;
static bool names_fit;
static char parent_names[SHIM_LAYER_NAMES];

static bool names_contain(const char *list, size_t used, const char *name)
{
	for (size_t at = 0; at < used; at += strlen(list + at) + 1)
		if (strcmp(list + at, name) == 0)
			return true;
	return false;
}

/*
 * Collects the top-level names of every parent layer once: the parents do
 * not change during a run. A list that does not fit turns the fast path
 * off, which is always correct.
 */
static void collect_parent_names(void)
{
	size_t used = 0;

	names_ready = true;
	names_fit = true;
	memset(parent_names, 0, sizeof(parent_names));
	if (!overlay.enabled)
		return;
	for (uint32_t layer = 1; layer < overlay.top_layer; layer++) {
		DIR *dir = opendir(overlay_layer_root(layer));
		struct dirent *entry;

		if (!dir)
			continue;
		while ((entry = readdir(dir))) {
			size_t len = strlen(entry->d_name);

			if (strcmp(entry->d_name, ".") == 0 ||
			    strcmp(entry->d_name, "..") == 0 ||
			    names_contain(parent_names, used, entry->d_name))
				continue;
			/* Room for the name, its NUL and the list's end. */
			if (used + len + 2 > sizeof(parent_names)) {
				names_fit = false;
				break;
			}
			memcpy(parent_names + used, entry->d_name, len + 1);
			used += len + 1;
		}
		closedir(dir);
	}
}

static void record_slot(struct process *p, const struct shim_slot *slot)
{
	struct thread *thread = NULL;
	/* Usually the process whose memory held the record. A vfork child,
	 * or a child cloned without fork(), shares its parent's memory, so
	 * either may write into the other's ring. No other process may be
	 * named: the program writes the ring, and a tid it made up must not
	 * bring an outside process into the run. */
	struct process *owner = proc_find_thread(slot->tid, &thread);
	char task[64];
	struct event ev;
	enum event_name name;
	uint64_t now;

	if (!owner) {
		/* A thread of p that made no notified call yet. */
		snprintf(task, sizeof(task), "/proc/%d/task/%d", (int)p->tgid,
			 (int)slot->tid);
		if (slot->tid <= 0 || access(task, F_OK) != 0)
			return;
		owner = proc_lookup_or_add(slot->tid, &thread);
	}

	switch (slot->op) {
	case SHIM_OP_READLINK: name = EV_READLINK; break;
	case SHIM_OP_OPEN: name = EV_OPENAT; break;
	case SHIM_OP_STAT: name = EV_NEWFSTATAT; break;
	case SHIM_OP_ACCESS: name = EV_ACCESS; break;
	default: return;
	}
	if (!owner || !thread ||
	    (size_t)slot->path_len + slot->abspath_len + 2 > SHIM_SLOT_DATA ||
	    slot->data[slot->path_len] != '\0' ||
	    (owner != p && owner->ppid != p->tgid && owner->tgid != p->ppid))
		return;
	trace_ensure_slice(owner, thread);
	/* A time from the future would hold back every later event of the
	 * process, and the program can write any time into the ring. */
	now = now_boottime();
	trace_event_begin_at(&ev, owner, thread, name, CAT_FILE,
			     slot->ts < now ? slot->ts : now);
	ann_string(&ev, AN_PATH, slot->data);
	ann_string(&ev, AN_ABSPATH, slot->data + slot->path_len + 1);
	if (slot->op == SHIM_OP_OPEN || slot->op == SHIM_OP_STAT)
		ann_int(&ev, AN_FLAGS, slot->flags);
	/* An open without O_CREAT has mode 0, which the core records too. */
	if (slot->op == SHIM_OP_OPEN)
		ann_uint(&ev, AN_MODE, 0);
	else if (slot->op == SHIM_OP_ACCESS)
		ann_uint(&ev, AN_MODE, (uint32_t)slot->flags);
	ann_int(&ev, AN_RESULT, slot->result);
	ann_bool(&ev, AN_IN_PROCESS, true);
	trace_event_end(&ev);
}

/* Copies the records that the process's shim added since the last drain
 * into its trace buffer and hands their slots back. */
static void drain_ring(struct process *p)
{
	struct shim_ring *ring = p->shim_ring;
	uint32_t tail, head, index;

	if (!ring)
		return;
	tail = __atomic_load_n(&ring->facts.tail, __ATOMIC_ACQUIRE);
	head = __atomic_load_n(&ring->facts.head, __ATOMIC_ACQUIRE);
	/* The program can write anything here; a count past the ring
	 * means that it did. */
	if (head - tail > SHIM_SLOTS)
		return;
	for (index = tail; index != head; index++) {
		/* A copy: the program may still write into the slot. */
		struct shim_slot slot = ring->slots[index % SHIM_SLOTS];

		if (slot.seq != index + 1)
			break;
		slot.data[SHIM_SLOT_DATA - 1] = '\0';
		record_slot(p, &slot);
	}
	__atomic_store_n(&ring->facts.tail, index, __ATOMIC_RELEASE);
}

void shim_release(struct process *p)
{
	if (!p->shim_ring)
		return;
	drain_ring(p);
	munmap(p->shim_ring, sizeof(struct shim_ring));
	p->shim_ring = NULL;
}

/*
 * Gives the calling process a ring: a memfd that the core maps and puts
 * into the process with SECCOMP_IOCTL_NOTIF_ADDFD. The call returns the
 * fd number, which the shim maps and closes. The core keeps
 * its own mapping, so it reads the records of a process that a signal
 * killed, and the program's fd table is left as it was.
 */
static void register_ring(struct call *c)
{
	struct seccomp_notif_addfd addfd = { 0 };
	struct shim_ring *ring;
	size_t upper_len = overlay.enabled ? strlen(overlay.upper) : 0;
	int fd, tracee_fd;

	if (!names_ready)
		collect_parent_names();
	if (!names_fit || upper_len >= sizeof(ring->facts.upper)) {
		call_return(c, -EOPNOTSUPP);
		return;
	}
	/* Sealed at its size: a program that shrank the file would make the
	 * core's reads of the mapping fault (SIGBUS). */
	fd = memfd_create("uwrx-shim-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, sizeof(*ring)) != 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
		log_debug("no ring for the shim of %d: %s", (int)c->proc->tgid, strerror(errno));
		if (fd >= 0)
			close(fd);
		call_return(c, -ENOMEM);
		return;
	}
	ring = mmap(NULL, sizeof(*ring), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ring == MAP_FAILED) {
		close(fd);
		call_return(c, -ENOMEM);
		return;
	}
	ring->magic = SHIM_ABI_MAGIC;
	ring->facts.state = SHIM_ACTIVE;
	memcpy(ring->facts.upper, overlay.upper, upper_len);
	ring->facts.upper_len = (uint32_t)upper_len;
	memcpy(ring->facts.parent_names, parent_names, sizeof(parent_names));
	ring->facts.clamp_times = determinism.enabled;
	ring->facts.stat_allowed = overlay.enabled || !determinism.enabled;
	ring->facts.t0_ns = det_base_time_ns();

	addfd.id = c->req->id;
	addfd.srcfd = (uint32_t)fd;
	addfd.newfd_flags = O_CLOEXEC;
	tracee_fd = ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd);
	close(fd);
	if (tracee_fd < 0) {
		munmap(ring, sizeof(*ring));
		call_return(c, -ENOMEM);
		return;
	}
	/* A new image of the process (after exec) registers again. */
	shim_release(c->proc);
	c->proc->shim_ring = ring;
	log_debug("process %d has a shim ring as its fd %d", (int)c->proc->tgid, tracee_fd);
	call_return(c, tracee_fd);
}

/*
 * Handles the shim's readlinkat(SHIM_DIRFD, NULL, NULL, request). Returns
 * false for any other call.
 */
bool shim_handle_request(struct call *c)
{
	const __u64 *args = c->req->data.args;

	if (c->req->data.nr != __NR_readlinkat || (int)args[0] != SHIM_DIRFD ||
	    args[2] != 0)
		return false;
	if (!shim_library) {
		/* The kernel's own result, EBADF, turns the shim off. */
		call_continue(c);
		return true;
	}
	if (args[3] == SHIM_REQUEST_REGISTER)
		register_ring(c);
	else if (args[3] == SHIM_REQUEST_DRAIN && c->proc->shim_ring)
		call_return(c, 0); /* shim_drain ran before this call */
	else
		call_return(c, -EINVAL);
	return true;
}

/* Records before the process's current call; see shim-abi.h. */
void shim_drain(struct call *c)
{
	drain_ring(c->proc);
}

/*
 * Returns the environment of the command with the shim at the end of
 * LD_PRELOAD, after what the user preloads. A library of theirs that
 * wraps stat() or realpath() then gets every call, and its own calls of
 * the next definition reach the shim.
 */
char **shim_environment(char **envp)
{
	extern char **environ;
	char **source = envp ? envp : environ;
	size_t count = 0;
	char **out;
	bool merged = false;

	while (source[count])
		count++;
	out = xmalloc((count + 2) * sizeof(*out));
	for (size_t i = 0; i < count; i++) {
		if (strncmp(source[i], "LD_PRELOAD=", 11) == 0 && !merged) {
			const char *user = source[i] + 11;
			size_t size = strlen(user) + strlen(shim_library) + 13;

			out[i] = xmalloc(size);
			snprintf(out[i], size, "LD_PRELOAD=%s%s%s", user,
				 *user ? ":" : "", shim_library);
			merged = true;
		} else {
			out[i] = source[i];
		}
	}
	if (!merged) {
		size_t size = strlen(shim_library) + 12;

		out[count] = xmalloc(size);
		snprintf(out[count], size, "LD_PRELOAD=%s", shim_library);
		count++;
	}
	out[count] = NULL;
	return out;
}

#else

/* The shim is built for x86_64 only; elsewhere every call is notified. */
bool shim_handle_request(struct call *c)
{
	(void)c;
	return false;
}

void shim_drain(struct call *c)
{
	(void)c;
}

void shim_release(struct process *p)
{
	(void)p;
}

char **shim_environment(char **envp)
{
	return envp;
}

#endif
