/*
 * Perfetto TracePacket writer: one packet sequence per process, framed as
 * Trace.packet fields in the process's buffer file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"

/* Trace.packet */
#define TRACE_PACKET 1
/* TracePacket */
#define TP_PROCESS_TREE 2
#define TP_CLOCK_SNAPSHOT 6
#define TP_TIMESTAMP 8
#define TP_SEQUENCE_ID 10
#define TP_TRACK_EVENT 11
#define TP_INTERNED_DATA 12
#define TP_SEQUENCE_FLAGS 13
#define TP_TRACK_DESCRIPTOR 60
#define SEQ_INCREMENTAL_STATE_CLEARED 1
#define SEQ_NEEDS_INCREMENTAL_STATE 2
/* TrackEvent */
#define TE_CATEGORY_IIDS 3
#define TE_DEBUG_ANNOTATIONS 4
#define TE_TYPE 9
#define TE_NAME_IID 10
#define TE_TRACK_UUID 11
#define TYPE_SLICE_BEGIN 1
#define TYPE_SLICE_END 2
#define TYPE_INSTANT 3
/* DebugAnnotation */
#define DA_NAME_IID 1
#define DA_BOOL 2
#define DA_UINT 3
#define DA_INT 4
#define DA_STRING 6
#define DA_ARRAY 12
/* InternedData */
#define ID_EVENT_CATEGORIES 1
#define ID_EVENT_NAMES 2
#define ID_ANNOTATION_NAMES 3
/* TrackDescriptor, ProcessDescriptor, ThreadDescriptor */
#define TD_UUID 1
#define TD_PROCESS 3
#define TD_THREAD 4
#define TD_PARENT_UUID 5
/* ProcessTree and ProcessTree.Process */
#define PT_PROCESSES 1
#define PTP_PID 1
#define PTP_PPID 2
#define PTP_CMDLINE 3
/* ClockSnapshot */
#define CS_CLOCKS 1
#define CLOCK_ID 1
#define CLOCK_TIMESTAMP 2
#define BUILTIN_CLOCK_REALTIME 1
#define BUILTIN_CLOCK_MONOTONIC 3
#define BUILTIN_CLOCK_BOOTTIME 6

/* Flush a process buffer once this many bytes of frames are pending. */
#define FLUSH_THRESHOLD (32u << 10)

/* Program names are interned per sequence after the fixed event names. */
#define FIRST_DYNAMIC_NAME_IID (EV_COUNT + 1)

static const char *const event_names[EV_COUNT] = {
#define EVENT(id, text) [EV_##id] = text,
#include "event-names.h"
#undef EVENT
};

static const char *const annotation_names[AN_COUNT] = {
	[AN_ARGV] = "argv",		[AN_CWD] = "cwd",
	[AN_EXECUTABLE] = "executable", [AN_FLAGS] = "flags",
	[AN_PATH] = "path",		[AN_ABSPATH] = "abspath",
	[AN_RESULT] = "result",		[AN_STATUS] = "status",
	[AN_SIGNAL] = "signal",		[AN_MODE] = "mode",
	[AN_PATH2] = "path2",		[AN_ABSPATH2] = "abspath2",
	[AN_FD] = "fd",			[AN_DATA] = "data",
	[AN_DATA_BASE64] = "data_base64", [AN_TERMINAL] = "terminal",
	[AN_BYTES] = "bytes",		[AN_TIME_READS] = "time_reads",
	[AN_PATH_BASE64] = "path_base64",
	[AN_ABSPATH_BASE64] = "abspath_base64",
	[AN_PATH2_BASE64] = "path2_base64",
	[AN_ABSPATH2_BASE64] = "abspath2_base64",
	[AN_ARGV_BASE64] = "argv_base64",
	[AN_SENT_BY] = "sent_by",
	[AN_FOUND] = "found",
	[AN_IN_PROCESS] = "in_process",
};

static const char *const category_names[] = {
	[CAT_PROCESS] = "process",
	[CAT_FILE] = "file",
	[CAT_OUTPUT] = "output",
	[CAT_RANDOM] = "random",
};

static int buffer_dir_fd = -1;

const char *event_name_text(enum event_name name)
{
	return event_names[name];
}

uint64_t now_boottime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void trace_init(int dir_fd)
{
	buffer_dir_fd = dir_fd;
}

static int create_buffer_file(const char *name)
{
	int fd = openat(buffer_dir_fd, name,
			O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0)
		die("cannot create buffer file %s: %s; check that the buffer directory is writable and not full", name, strerror(errno));
	return fd;
}

static void write_all(int fd, const uint8_t *data, size_t len, const char *name)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			control_send_warning("writing buffer file %s failed: %s; its events are lost", name, strerror(errno));
			return;
		}
		data += n;
		len -= (size_t)n;
	}
}

static void append_frame(struct pb *out, const struct pb *packet)
{
	uint8_t tag = (TRACE_PACKET << 3) | 2;

	pb_raw(out, &tag, 1);
	pb_varint(out, packet->len);
	pb_raw(out, packet->data, packet->len);
}

static void packet_header(struct pb *pkt, uint64_t ts, uint32_t seq,
			  uint32_t flags)
{
	pb_reset(pkt);
	pb_uint(pkt, TP_TIMESTAMP, ts);
	pb_uint(pkt, TP_SEQUENCE_ID, seq);
	pb_uint(pkt, TP_SEQUENCE_FLAGS, flags);
}

void trace_write_core_sequence(void)
{
	struct pb pkt = { 0 }, frame = { 0 };
	static const clockid_t ids[] = { CLOCK_BOOTTIME, CLOCK_REALTIME,
					 CLOCK_MONOTONIC };
	static const uint32_t builtin[] = { BUILTIN_CLOCK_BOOTTIME,
					    BUILTIN_CLOCK_REALTIME,
					    BUILTIN_CLOCK_MONOTONIC };
	uint64_t stamps[3];
	size_t snapshot;
	int fd;

	for (int i = 0; i < 3; i++)
		stamps[i] = clock_ns(ids[i]);

	packet_header(&pkt, stamps[0], 1, SEQ_INCREMENTAL_STATE_CLEARED);
	snapshot = pb_begin(&pkt, TP_CLOCK_SNAPSHOT);
	for (int i = 0; i < 3; i++) {
		size_t clock = pb_begin(&pkt, CS_CLOCKS);

		pb_uint(&pkt, CLOCK_ID, builtin[i]);
		pb_uint(&pkt, CLOCK_TIMESTAMP, stamps[i]);
		pb_end(&pkt, clock);
	}
	pb_end(&pkt, snapshot);

	append_frame(&frame, &pkt);
	fd = create_buffer_file("core-s1.pb");
	write_all(fd, frame.data, frame.len, "core-s1.pb");
	close(fd);
	pb_free(&pkt);
	pb_free(&frame);
}

static void intern_entry(struct pb *pkt, uint32_t field, uint64_t iid,
			 const char *name)
{
	size_t mark = pb_begin(pkt, field);

	pb_uint(pkt, 1, iid);
	pb_string(pkt, 2, name);
	pb_end(pkt, mark);
}

static void intern_fixed_tables(struct pb *pkt)
{
	size_t mark = pb_begin(pkt, TP_INTERNED_DATA);

	for (int c = CAT_PROCESS; c <= CAT_RANDOM; c++)
		intern_entry(pkt, ID_EVENT_CATEGORIES, (uint64_t)c, category_names[c]);
	for (int e = 0; e < EV_COUNT; e++)
		intern_entry(pkt, ID_EVENT_NAMES, (uint64_t)e + 1, event_names[e]);
	for (int a = AN_ARGV; a < AN_COUNT; a++)
		intern_entry(pkt, ID_ANNOTATION_NAMES, (uint64_t)a, annotation_names[a]);
	pb_end(pkt, mark);
}

static uint64_t process_uuid(const struct process *p)
{
	return (uint64_t)(p->seq - 1) << 32;
}

static uint64_t thread_uuid(const struct process *p, const struct thread *t)
{
	return process_uuid(p) + t->index;
}

static uint64_t next_timestamp(struct process *p)
{
	uint64_t ts = now_boottime();

	/* Timestamps within a sequence must never decrease. */
	if (ts < p->last_ts)
		ts = p->last_ts;
	p->last_ts = ts;
	return ts;
}

static void commit_packet(struct process *p, const struct pb *pkt)
{
	append_frame(&p->buffer, pkt);
	if (p->buffer.len >= FLUSH_THRESHOLD)
		trace_flush(p);
}

void trace_flush(struct process *p)
{
	if (p->buffer.len == 0 || p->buffer_fd < 0)
		return;
	write_all(p->buffer_fd, p->buffer.data, p->buffer.len, p->buffer_name);
	pb_reset(&p->buffer);
}

/* Writes the first packet of a process sequence: the cleared incremental
 * state, every fixed interned string, and the process track. */
void trace_start_process(struct process *p)
{
	struct pb pkt = { 0 };
	size_t track, desc;

	snprintf(p->buffer_name, sizeof(p->buffer_name), "p%d-s%u.pb",
		 (int)p->tgid, p->seq);
	p->buffer_fd = create_buffer_file(p->buffer_name);

	packet_header(&pkt, next_timestamp(p), p->seq,
		      SEQ_INCREMENTAL_STATE_CLEARED);
	intern_fixed_tables(&pkt);
	track = pb_begin(&pkt, TP_TRACK_DESCRIPTOR);
	pb_uint(&pkt, TD_UUID, process_uuid(p));
	desc = pb_begin(&pkt, TD_PROCESS);
	pb_int(&pkt, 1, p->tgid);
	pb_end(&pkt, desc);
	pb_end(&pkt, track);
	commit_packet(p, &pkt);
	pb_free(&pkt);
}

void trace_add_thread(struct process *p, struct thread *t)
{
	struct pb pkt = { 0 };
	size_t track, desc;

	packet_header(&pkt, next_timestamp(p), p->seq,
		      SEQ_NEEDS_INCREMENTAL_STATE);
	track = pb_begin(&pkt, TP_TRACK_DESCRIPTOR);
	pb_uint(&pkt, TD_UUID, thread_uuid(p, t));
	pb_uint(&pkt, TD_PARENT_UUID, process_uuid(p));
	desc = pb_begin(&pkt, TD_THREAD);
	pb_int(&pkt, 1, p->tgid);
	pb_int(&pkt, 2, t->tid);
	pb_end(&pkt, desc);
	pb_end(&pkt, track);
	commit_packet(p, &pkt);
	pb_free(&pkt);
}

static void track_event_header(struct event *ev, uint64_t uuid, int type,
			       uint64_t name_iid, enum category cat)
{
	ev->event_mark = pb_begin(&ev->packet, TP_TRACK_EVENT);
	pb_uint(&ev->packet, TE_TYPE, (uint64_t)type);
	pb_uint(&ev->packet, TE_TRACK_UUID, uuid);
	if (name_iid)
		pb_uint(&ev->packet, TE_NAME_IID, name_iid);
	pb_uint(&ev->packet, TE_CATEGORY_IIDS, cat);
}

void trace_event_begin(struct event *ev, struct process *p, struct thread *t,
		       enum event_name name, enum category cat)
{
	trace_event_begin_at(ev, p, t, name, cat, now_boottime());
}

void trace_event_begin_at(struct event *ev, struct process *p,
			  struct thread *t, enum event_name name,
			  enum category cat, uint64_t ts)
{
	/* Timestamps within a sequence must never decrease. */
	if (ts < p->last_ts)
		ts = p->last_ts;
	p->last_ts = ts;
	memset(ev, 0, sizeof(*ev));
	ev->proc = p;
	packet_header(&ev->packet, ts, p->seq, SEQ_NEEDS_INCREMENTAL_STATE);
	track_event_header(ev, thread_uuid(p, t), TYPE_INSTANT,
			   (uint64_t)name + 1, cat);
}

void trace_event_end(struct event *ev)
{
	pb_end(&ev->packet, ev->event_mark);
	commit_packet(ev->proc, &ev->packet);
	pb_free(&ev->packet);
}

static size_t annotation_begin(struct event *ev, enum annotation_name name)
{
	size_t mark = pb_begin(&ev->packet, TE_DEBUG_ANNOTATIONS);

	pb_uint(&ev->packet, DA_NAME_IID, name);
	return mark;
}

/* Returns the annotation that carries the exact bytes of a path-like
 * annotation, or 0 for names whose bytes are not kept. */
static enum annotation_name exact_bytes_name(enum annotation_name name)
{
	switch (name) {
	case AN_PATH:
		return AN_PATH_BASE64;
	case AN_ABSPATH:
		return AN_ABSPATH_BASE64;
	case AN_PATH2:
		return AN_PATH2_BASE64;
	case AN_ABSPATH2:
		return AN_ABSPATH2_BASE64;
	default:
		return 0;
	}
}

static bool is_utf8(const char *s)
{
	return utf8_valid((const uint8_t *)s, strlen(s));
}

static void ann_base64(struct event *ev, enum annotation_name name,
		       const char *s)
{
	char *encoded = base64_encode((const uint8_t *)s, strlen(s));
	size_t mark = annotation_begin(ev, name);

	pb_string(&ev->packet, DA_STRING, encoded);
	pb_end(&ev->packet, mark);
	free(encoded);
}

/* Adds a string annotation, with invalid UTF-8 replaced by U+FFFD. A
 * path that needed a replacement also gets its exact bytes as
 * <name>_base64. */
void ann_string(struct event *ev, enum annotation_name name, const char *s)
{
	size_t mark = annotation_begin(ev, name);
	enum annotation_name exact = exact_bytes_name(name);

	pb_string(&ev->packet, DA_STRING, s);
	pb_end(&ev->packet, mark);
	if (exact && !is_utf8(s))
		ann_base64(ev, exact, s);
}

void ann_int(struct event *ev, enum annotation_name name, int64_t value)
{
	size_t mark = annotation_begin(ev, name);

	pb_int(&ev->packet, DA_INT, value);
	pb_end(&ev->packet, mark);
}

void ann_uint(struct event *ev, enum annotation_name name, uint64_t value)
{
	size_t mark = annotation_begin(ev, name);

	pb_uint(&ev->packet, DA_UINT, value);
	pb_end(&ev->packet, mark);
}

void ann_bool(struct event *ev, enum annotation_name name, bool value)
{
	size_t mark = annotation_begin(ev, name);

	pb_uint(&ev->packet, DA_BOOL, value);
	pb_end(&ev->packet, mark);
}

static bool argv_is_utf8(char *const *argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		if (!is_utf8(argv[i]))
			return false;
	return true;
}

/* Adds argv_base64: every item's exact bytes, so that items keep their
 * positions. */
static void ann_argv_base64(struct event *ev, char *const *argv)
{
	size_t mark = annotation_begin(ev, AN_ARGV_BASE64);

	for (size_t i = 0; argv[i]; i++) {
		size_t item = pb_begin(&ev->packet, DA_ARRAY);
		char *encoded = base64_encode((const uint8_t *)argv[i], strlen(argv[i]));

		pb_string(&ev->packet, DA_STRING, encoded);
		pb_end(&ev->packet, item);
		free(encoded);
	}
	pb_end(&ev->packet, mark);
}

void ann_argv(struct event *ev, enum annotation_name name, char *const *argv)
{
	size_t mark = annotation_begin(ev, name);

	for (size_t i = 0; argv && argv[i]; i++) {
		size_t item = pb_begin(&ev->packet, DA_ARRAY);

		pb_string(&ev->packet, DA_STRING, argv[i]);
		pb_end(&ev->packet, item);
	}
	pb_end(&ev->packet, mark);
	if (name == AN_ARGV && !argv_is_utf8(argv))
		ann_argv_base64(ev, argv);
}

static const char *program_basename(const struct process *p)
{
	const char *path = p->exe ? p->exe : "?";
	const char *slash = strrchr(path, '/');

	return slash && slash[1] ? slash + 1 : path;
}

/* Returns the iid of a program name, interning it in this packet when the
 * sequence has not used it yet. Interned entries may arrive in any packet
 * of a sequence, so names of programs exec'd later need not be known when
 * the first packet is written. */
static uint64_t intern_program_name(struct process *p, struct pb *pkt,
				    const char *name)
{
	size_t mark;

	for (size_t i = 0; i < p->interned_count; i++)
		if (strcmp(p->interned_names[i], name) == 0)
			return FIRST_DYNAMIC_NAME_IID + i;

	p->interned_names = xrealloc(p->interned_names,
				     (p->interned_count + 1) * sizeof(char *));
	p->interned_names[p->interned_count] = xstrdup(name);
	mark = pb_begin(pkt, TP_INTERNED_DATA);
	intern_entry(pkt, ID_EVENT_NAMES,
		     FIRST_DYNAMIC_NAME_IID + p->interned_count, name);
	pb_end(pkt, mark);
	return FIRST_DYNAMIC_NAME_IID + p->interned_count++;
}

void trace_slice_begin(struct process *p, struct thread *t)
{
	struct event ev = { .proc = p };
	uint64_t iid;

	packet_header(&ev.packet, next_timestamp(p), p->seq,
		      SEQ_NEEDS_INCREMENTAL_STATE);
	iid = intern_program_name(p, &ev.packet, program_basename(p));
	track_event_header(&ev, thread_uuid(p, t), TYPE_SLICE_BEGIN, iid,
			   CAT_PROCESS);
	ann_argv(&ev, AN_ARGV, p->argv);
	if (p->cwd)
		ann_string(&ev, AN_CWD, p->cwd);
	if (p->exe)
		ann_string(&ev, AN_EXECUTABLE, p->exe);
	trace_event_end(&ev);
	p->slice_open = true;
	p->slice_track = thread_uuid(p, t);
}

/* Ends the process slice on the track where it began: a slice's begin and
 * end must share a track, and the exiting thread may be another one. */
void trace_slice_end(struct process *p)
{
	struct event ev = { .proc = p };

	if (!p->slice_open)
		return;
	packet_header(&ev.packet, next_timestamp(p), p->seq,
		      SEQ_NEEDS_INCREMENTAL_STATE);
	track_event_header(&ev, p->slice_track, TYPE_SLICE_END, 0, CAT_PROCESS);
	trace_event_end(&ev);
	p->slice_open = false;
}

void trace_ensure_slice(struct process *p, struct thread *t)
{
	if (!p->slice_open && !p->execed && !p->exit_recorded)
		trace_slice_begin(p, t);
}

void trace_process_tree(struct process *p)
{
	struct pb pkt = { 0 };
	size_t tree, proc;

	packet_header(&pkt, next_timestamp(p), p->seq,
		      SEQ_NEEDS_INCREMENTAL_STATE);
	tree = pb_begin(&pkt, TP_PROCESS_TREE);
	proc = pb_begin(&pkt, PT_PROCESSES);
	pb_int(&pkt, PTP_PID, p->tgid);
	pb_int(&pkt, PTP_PPID, p->ppid);
	for (size_t i = 0; p->argv && p->argv[i]; i++)
		pb_string(&pkt, PTP_CMDLINE, p->argv[i]);
	pb_end(&pkt, proc);
	pb_end(&pkt, tree);
	commit_packet(p, &pkt);
	pb_free(&pkt);
}
