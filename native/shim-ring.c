/*
 * The core's side of the in-process fast path: registers the ring of each
 * process whose preloaded shim asks for it and copies the records in it
 * into that process's trace buffer. The layout is in shim-abi.h.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "core.h"
#include "determinism.h"
#include "overlay.h"
#include "shim-abi.h"

const char *shim_library;

#if defined(__x86_64__)

/* The fields that a drain reads first. */
struct shim_header {
	uint64_t magic;
	uint64_t cookie;
	uint32_t head;
	uint32_t tail;
};

static uint64_t next_cookie = 0x75777278;
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

static void register_ring(struct call *c, uint64_t ring)
{
	struct shim_facts facts;
	size_t upper_len = overlay.enabled ? strlen(overlay.upper) : 0;

	if (!names_ready)
		collect_parent_names();
	memset(&facts, 0, sizeof(facts));
	facts.cookie = next_cookie++;
	facts.state = names_fit && upper_len < sizeof(facts.upper) ? SHIM_ACTIVE
								     : SHIM_OFF;
	if (facts.state == SHIM_ACTIVE && upper_len) {
		memcpy(facts.upper, overlay.upper, upper_len);
		facts.upper_len = (uint32_t)upper_len;
	}
	memcpy(facts.parent_names, parent_names, sizeof(facts.parent_names));
	facts.clamp_times = determinism.enabled;
	facts.t0_ns = det_base_time_ns();
	if (tracee_write(c->tid, ring + offsetof(struct shim_ring, facts),
			 &facts, sizeof(facts)) != (ssize_t)sizeof(facts)) {
		call_return(c, -EFAULT);
		return;
	}
	if (facts.state == SHIM_ACTIVE) {
		c->proc->shim_ring = ring;
		c->proc->shim_cookie = facts.cookie;
	}
	log_debug("process %d registered its shim ring at %#llx%s",
		  (int)c->proc->tgid, (unsigned long long)ring,
		  facts.state == SHIM_ACTIVE ? "" : " (fast path off)");
	call_return(c, 0);
}

/*
 * Answers the shim's readlinkat(SHIM_DIRFD, ring, NULL, request). Returns
 * false for any other call.
 */
bool shim_handle_request(struct call *c)
{
	const __u64 *args = c->req->data.args;
	uint64_t ring = args[1];

	if (c->req->data.nr != __NR_readlinkat || (int)args[0] != SHIM_DIRFD ||
	    args[2] != 0)
		return false;
	if (!shim_library) {
		/* The kernel's own answer, EBADF, turns the shim off. */
		call_continue(c);
		return true;
	}
	if (args[3] == SHIM_REQUEST_REGISTER)
		register_ring(c, ring);
	else if (args[3] == SHIM_REQUEST_DRAIN && ring == c->proc->shim_ring)
		call_return(c, 0); /* shim_drain ran before this call */
	else
		call_return(c, -EINVAL);
	return true;
}

static void record_slot(struct process *p, const struct shim_slot *slot)
{
	struct thread *thread = NULL;
	/* Usually the process whose memory held the record; a vfork child
	 * writes into its parent's ring. No other process may be named. */
	struct process *owner = proc_lookup_or_add(slot->tid, &thread);
	struct event ev;
	enum event_name name;

	switch (slot->op) {
	case SHIM_OP_READLINK: name = EV_READLINK; break;
	case SHIM_OP_OPEN: name = EV_OPENAT; break;
	case SHIM_OP_STAT: name = EV_NEWFSTATAT; break;
	case SHIM_OP_ACCESS: name = EV_ACCESS; break;
	default: return;
	}
	if (!owner || !thread || slot->path_len >= SHIM_SLOT_DATA ||
	    (owner != p && owner->ppid != p->tgid))
		return;
	trace_ensure_slice(owner, thread);
	trace_event_begin_at(&ev, owner, thread, name, CAT_FILE, slot->ts);
	ann_string(&ev, AN_PATH, slot->data);
	ann_string(&ev, AN_ABSPATH, slot->data);
	if (slot->op == SHIM_OP_OPEN || slot->op == SHIM_OP_STAT)
		ann_int(&ev, AN_FLAGS, slot->flags);
	else if (slot->op == SHIM_OP_ACCESS)
		ann_uint(&ev, AN_MODE, (uint32_t)slot->flags);
	ann_int(&ev, AN_RESULT, slot->result);
	ann_bool(&ev, AN_IN_PROCESS, true);
	trace_event_end(&ev);
}

/*
 * Copies the complete records that the process's shim has added since
 * the last drain into its trace buffer and hands their slots back.
 */
void shim_drain(struct call *c)
{
	/* Static: the core handles one call at a time, and a full ring is
	 * 64 KiB. */
	static struct shim_slot slots[SHIM_SLOTS];
	struct process *p = c->proc;
	struct shim_header header;
	struct iovec local[2], remote[2];
	uint64_t base;
	uint32_t count, first, index;
	size_t parts = 0;

	if (!p->shim_ring)
		return;
	if (tracee_read(c->tid, p->shim_ring, &header, sizeof(header)) !=
		    (ssize_t)sizeof(header) ||
	    header.magic != SHIM_ABI_MAGIC || header.cookie != p->shim_cookie ||
	    header.head - header.tail > SHIM_SLOTS) {
		/* A new program image, or a ring that no shim keeps. */
		p->shim_ring = 0;
		return;
	}
	count = header.head - header.tail;
	if (count == 0)
		return;
	/* The records in order, in at most two pieces where the ring wraps. */
	base = p->shim_ring + offsetof(struct shim_ring, slots);
	first = header.tail % SHIM_SLOTS;
	for (uint32_t done = 0; done < count; parts++) {
		uint32_t at = (first + done) % SHIM_SLOTS;
		uint32_t n = count - done < SHIM_SLOTS - at ? count - done : SHIM_SLOTS - at;

		local[parts] = (struct iovec){ &slots[done], n * sizeof(slots[0]) };
		remote[parts] = (struct iovec){ (void *)(uintptr_t)(base + at * sizeof(slots[0])),
						n * sizeof(slots[0]) };
		done += n;
	}
	if (process_vm_readv(c->tid, local, parts, remote, parts, 0) !=
	    (ssize_t)(count * sizeof(slots[0])))
		return;
	for (index = 0; index < count; index++) {
		struct shim_slot *slot = &slots[index];

		if (slot->seq != header.tail + index + 1)
			break;
		slot->data[SHIM_SLOT_DATA - 1] = '\0';
		record_slot(p, slot);
	}
	index += header.tail;
	if (index != header.tail)
		tracee_write(c->tid, p->shim_ring + offsetof(struct shim_ring, facts.tail),
			     &index, sizeof(index));
}

/*
 * Returns the environment of the command with the shim in LD_PRELOAD,
 * ahead of what the user preloads, so that its realpath comes first.
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
			const char *rest = source[i] + 11;
			size_t size = strlen(shim_library) + strlen(rest) + 13;

			out[i] = xmalloc(size);
			snprintf(out[i], size, "LD_PRELOAD=%s%s%s", shim_library,
				 *rest ? ":" : "", rest);
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

char **shim_environment(char **envp)
{
	return envp;
}

#endif
