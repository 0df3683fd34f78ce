/* Receiving notifications, finding the caller and answering. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/seccomp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core.h"
#include "determinism.h"

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

static int listener_fd = -1;
static struct seccomp_notif *request;
static struct seccomp_notif_resp *response;
static size_t request_size;
static size_t response_size;
static uint64_t handled;

uint64_t notify_count(void)
{
	return handled;
}

void notify_init(int listener)
{
	struct seccomp_notif_sizes sizes;

	listener_fd = listener;
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0)
		die("SECCOMP_GET_NOTIF_SIZES failed: %s; needs Linux 5.14 or newer", strerror(errno));

	/* The kernel's structs may be larger than this build's headers. */
	request_size = sizes.seccomp_notif > sizeof(*request) ? sizes.seccomp_notif : sizeof(*request);
	response_size = sizes.seccomp_notif_resp > sizeof(*response) ? sizes.seccomp_notif_resp : sizeof(*response);
	request = xmalloc(request_size);
	response = xmalloc(response_size);

	/* Wakes the traced thread on the core's CPU: on a 2-CPU machine a
	 * notification costs about 6 us this way and 60 us across CPUs.
	 * Kernels before 6.7 lack the flag; supervision still works. */
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
		  SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, 0) != 0)
		log_debug("SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP unavailable (%s)", strerror(errno));
}

bool call_still_valid(struct call *c)
{
	return ioctl(c->listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &c->req->id) == 0;
}

/* Returns false when the kernel rejected the response. */
static bool send_response(struct call *c)
{
	if (c->answered)
		return true;
	c->answered = true;
	if (ioctl(c->listener, SECCOMP_IOCTL_NOTIF_SEND, c->resp) == 0)
		return true;
	/* ENOENT: the caller was killed or its call interrupted meanwhile. */
	if (errno != ENOENT)
		log_debug("responding to the call of %d failed: %s", (int)c->tid, strerror(errno));
	return false;
}

void call_continue(struct call *c)
{
	c->resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	send_response(c);
}

/* Returns false when the call was gone (or the answer rejected), so that
 * its result never reached the caller. */
bool call_return(struct call *c, int64_t result)
{
	c->resp->flags = 0;
	if (result < 0)
		c->resp->error = (int32_t)result;
	else
		c->resp->val = result;
	return send_response(c);
}

void notify_handle_one(void)
{
	struct call c = { .listener = listener_fd };

	/* NOTIF_RECV fails with EINVAL unless its buffer is zeroed. */
	memset(request, 0, request_size);
	if (ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_RECV, request) != 0)
		return;
	handled++;

	memset(response, 0, response_size);
	response->id = request->id;
	c.req = request;
	c.resp = response;
	c.tid = (pid_t)request->pid;
	c.proc = proc_lookup_or_add(c.tid, &c.thread);
	if (!c.proc) {
		call_continue(&c);
		return;
	}

	/* The shim's records precede this call. */
	shim_drain(&c);
	if (!shim_handle_request(&c) && !det_handle_call(&c) &&
	    !handle_process(&c))
		handle_file(&c);
	/* A no-op when a handler has answered already. */
	call_continue(&c);
}
