/*
 * The control channel: 4-byte little-endian length + one protobuf message
 * per frame, CoreMessage out and HostMessage in. The socket is
 * non-blocking and output waits in a queue, so a host that stops reading
 * never stalls the traced tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core.h"

/* Beyond this much unsent output the core drops messages (and says so
 * once) rather than grow without bound while the host is stalled. */
#define OUTPUT_QUEUE_MAX (64u << 20)
#define INPUT_FRAME_MAX (1u << 20)

static int channel_fd = -1;
static bool host_gone;
static bool dropped_reported;
static struct pb output;
static size_t output_sent;
static struct pb input;

void control_init(int fd)
{
	int flags;

	channel_fd = fd;
	if (fd < 0)
		return;

	flags = fcntl(fd, F_GETFL);
	if (flags < 0)
		die("control fd %d is not open: pass the host's socket with --control-fd", fd);
	fcntl(fd, F_SETFL, flags | O_NONBLOCK);
	fcntl(fd, F_SETFD, FD_CLOEXEC);
}

int control_fd(void)
{
	return host_gone ? -1 : channel_fd;
}

/* Returns true once the channel reported end of file or an error. */
bool control_host_lost(void)
{
	return host_gone;
}

bool control_wants_write(void)
{
	return control_fd() >= 0 && output_sent < output.len;
}

/* The event loop ends the run once it sees host_gone: nobody would
 * collect the trace of a tree that ran on unsupervised. */
static void control_mark_gone(int err)
{
	if (!host_gone)
		log_error("control channel closed (%s); the host is gone, killing the command", strerror(err));
	host_gone = true;
	pb_free(&output);
	output_sent = 0;
}

void control_on_writable(void)
{
	while (control_fd() >= 0 && output_sent < output.len) {
		ssize_t n = send(channel_fd, output.data + output_sent,
				 output.len - output_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0) {
			control_mark_gone(errno);
			return;
		}
		output_sent += (size_t)n;
	}
	if (output_sent == output.len) {
		pb_reset(&output);
		output_sent = 0;
	}
}

void control_flush_blocking(int timeout_ms)
{
	struct pollfd pfd = { .events = POLLOUT };

	while (control_wants_write()) {
		pfd.fd = channel_fd;
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return;
		control_on_writable();
	}
}

static void control_send(struct pb *message)
{
	uint8_t len[4];

	if (control_fd() < 0)
		return;
	if (output.len - output_sent + message->len > OUTPUT_QUEUE_MAX) {
		if (!dropped_reported)
			log_error("the host is not reading the control channel; dropping messages");
		dropped_reported = true;
		return;
	}

	for (int i = 0; i < 4; i++)
		len[i] = (uint8_t)(message->len >> (8 * i));
	pb_raw(&output, len, sizeof(len));
	pb_raw(&output, message->data, message->len);
	control_on_writable();
}

enum core_message_field {
	CM_STARTED = 1,
	CM_PROCESS_STARTED,
	CM_EXEC,
	CM_PROCESS_EXITED,
	CM_FINISHED,
	CM_WARNING,
};

void control_send_started(pid_t root, uint64_t boot_ns, uint64_t real_ns)
{
	struct pb m = { 0 };
	size_t mark = pb_begin(&m, CM_STARTED);

	pb_int(&m, 1, root);
	pb_uint(&m, 2, boot_ns);
	pb_uint(&m, 3, real_ns);
	pb_string(&m, 4, CORE_VERSION);
	pb_end(&m, mark);
	control_send(&m);
	pb_free(&m);
}

void control_send_process_started(pid_t pid, pid_t ppid, uint64_t ts,
				  const char *buffer)
{
	struct pb m = { 0 };
	size_t mark = pb_begin(&m, CM_PROCESS_STARTED);

	pb_int(&m, 1, pid);
	pb_int(&m, 2, ppid);
	pb_uint(&m, 3, ts);
	pb_string(&m, 4, buffer);
	pb_end(&m, mark);
	control_send(&m);
	pb_free(&m);
}

void control_send_exec(pid_t pid, pid_t tid, uint64_t ts, char *const *argv,
		       const char *cwd, const char *executable, int err)
{
	struct pb m = { 0 };
	size_t mark = pb_begin(&m, CM_EXEC);

	pb_int(&m, 1, pid);
	pb_int(&m, 2, tid);
	pb_uint(&m, 3, ts);
	for (size_t i = 0; argv && argv[i]; i++)
		pb_string(&m, 4, argv[i]);
	pb_string(&m, 5, cwd);
	pb_string(&m, 6, executable);
	if (err)
		pb_int(&m, 7, err);
	pb_end(&m, mark);
	control_send(&m);
	pb_free(&m);
}

void control_send_process_exited(pid_t pid, uint64_t ts, bool has_code,
				 int code, int signal)
{
	struct pb m = { 0 };
	size_t mark = pb_begin(&m, CM_PROCESS_EXITED);

	pb_int(&m, 1, pid);
	pb_uint(&m, 2, ts);
	if (has_code)
		pb_int(&m, 3, code);
	else
		pb_int(&m, 4, signal);
	pb_end(&m, mark);
	control_send(&m);
	pb_free(&m);
}

void control_send_finished(const struct core_finish *f)
{
	struct pb m = { 0 };
	size_t mark = pb_begin(&m, CM_FINISHED);

	if (f->has_exit_code)
		pb_int(&m, 1, f->exit_code);
	if (f->has_signal)
		pb_int(&m, 2, f->signal);
	if (f->exec_errno)
		pb_int(&m, 3, f->exec_errno);
	pb_uint(&m, 4, f->process_count);
	pb_uint(&m, 5, f->notification_count);
	pb_end(&m, mark);
	control_send(&m);
	pb_free(&m);
}

void control_send_warning(const char *fmt, ...)
{
	struct pb m = { 0 };
	char text[1024];
	size_t mark;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_debug("warning: %s", text);

	mark = pb_begin(&m, CM_WARNING);
	pb_string(&m, 1, text);
	pb_end(&m, mark);
	control_send(&m);
	pb_free(&m);
}

/* ---- reading HostMessage ---- */

struct pb_reader {
	const uint8_t *p;
	const uint8_t *end;
};

static bool read_varint(struct pb_reader *r, uint64_t *out)
{
	uint64_t value = 0;

	for (int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
		uint8_t byte = *r->p++;

		value |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*out = value;
			return true;
		}
	}
	return false;
}

/* Reads one field: a varint value, or a length-delimited sub-reader.
 * Returns false at the end or on malformed input. */
static bool read_field(struct pb_reader *r, uint32_t *field, uint64_t *value,
		       struct pb_reader *sub)
{
	uint64_t key, len;

	if (r->p >= r->end || !read_varint(r, &key))
		return false;
	*field = (uint32_t)(key >> 3);
	switch (key & 7) {
	case 0:
		return read_varint(r, value);
	case 2:
		if (!read_varint(r, &len) || len > (uint64_t)(r->end - r->p))
			return false;
		sub->p = r->p;
		sub->end = r->p + len;
		r->p += len;
		return true;
	case 1:
		if (r->end - r->p < 8)
			return false;
		r->p += 8;
		return true;
	case 5:
		if (r->end - r->p < 4)
			return false;
		r->p += 4;
		return true;
	default:
		return false;
	}
}

static void decode_release(struct pb_reader r)
{
	char buffer[256] = "";
	uint64_t offset = 0, value = 0;
	struct pb_reader sub = { 0 };
	uint32_t field;

	while (read_field(&r, &field, &value, &sub)) {
		if (field == 1) {
			size_t len = (size_t)(sub.end - sub.p);

			if (len >= sizeof(buffer))
				return;
			memcpy(buffer, sub.p, len);
			buffer[len] = '\0';
		} else if (field == 2) {
			offset = value;
		}
	}
	host_release(buffer, offset);
}

static void decode_terminate(struct pb_reader r)
{
	struct pb_reader sub;
	uint64_t value = 0;
	uint32_t field;
	int signal = 0;

	while (read_field(&r, &field, &value, &sub))
		if (field == 1)
			signal = (int)value;
	host_terminate(signal);
}

static void decode_host_message(const uint8_t *data, size_t len)
{
	struct pb_reader r = { data, data + len }, sub = { 0 };
	uint64_t value;
	uint32_t field;

	while (read_field(&r, &field, &value, &sub)) {
		if (field == 1)
			decode_release(sub);
		else if (field == 2)
			decode_terminate(sub);
	}
}

static void decode_input_frames(void)
{
	size_t pos = 0;

	while (input.len - pos >= 4) {
		const uint8_t *p = input.data + pos;
		uint32_t len = p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;

		if (len > INPUT_FRAME_MAX) {
			control_send_warning("control frame of %u bytes from the host exceeds %u; closing the channel input", len, INPUT_FRAME_MAX);
			control_mark_gone(EPROTO);
			return;
		}
		if (input.len - pos - 4 < len)
			break;
		decode_host_message(p + 4, len);
		pos += 4 + len;
	}
	memmove(input.data, input.data + pos, input.len - pos);
	input.len -= pos;
}

void control_on_readable(void)
{
	uint8_t chunk[4096];
	ssize_t n;

	for (;;) {
		n = recv(channel_fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			control_mark_gone(n == 0 ? EPIPE : errno);
			return;
		}
		pb_raw(&input, chunk, (size_t)n);
	}
	decode_input_frames();
}
