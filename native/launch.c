/*
 * Starting the command: the child installs the filter, hands the listener
 * to the core over a socketpair and waits for the core's ack before its
 * first filtered call (execvp), so no notification can wait for a
 * listener that the core does not hold yet.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core.h"
#include "determinism.h"

static void send_fd(int sock, int fd)
{
	char byte = 0;
	struct iovec iov = { &byte, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	memset(control.buf, 0, sizeof(control.buf));
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	sendmsg(sock, &msg, 0);
}

static int receive_fd(int sock)
{
	char byte;
	struct iovec iov = { &byte, 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = control.buf,
			      .msg_controllen = sizeof(control.buf) };
	struct cmsghdr *cmsg;
	int fd = -1;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (cmsg && cmsg->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

/* Restores what the core changed for itself: blocked signals and ignored
 * dispositions survive exec. */
static void reset_signals(void)
{
	sigset_t none;

	sigemptyset(&none);
	signal(SIGPIPE, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static _Noreturn void run_child(char **argv, char **envp, int sock,
				int error_pipe)
{
	int listener, err;
	char ack;

	reset_signals();
	det_child_setup();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		err = errno;
		goto fail;
	}
	listener = install_filter();
	if (listener < 0) {
		err = -listener;
		goto fail;
	}
	send_fd(sock, listener);
	close(listener);
	if (read(sock, &ack, 1) != 1)
		_exit(CORE_EXIT_FAILURE);
	close(sock);

	/* execvp searches the PATH of environ, so the lookup uses the
	 * command's own environment too. */
	if (envp)
		environ = envp;
	execvp(argv[0], argv);
	err = errno;
	if (write(error_pipe, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(err == ENOENT ? 127 : 126);

fail:
	/* The filter is not installed, so this write reaches the core
	 * without a notification. */
	err = -err;
	if (write(error_pipe, &err, sizeof(err)) < 0)
		_exit(CORE_EXIT_FAILURE);
	_exit(CORE_EXIT_FAILURE);
}

void launch_command(char **argv, char **envp, struct launch *out)
{
	int sockets[2], error_pipe[2];
	char ack = 1;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0 ||
	    pipe2(error_pipe, O_CLOEXEC) != 0)
		die("cannot create the pipes to start the command: %s", strerror(errno));

	pid = fork();
	if (pid < 0)
		die("cannot fork the command: %s", strerror(errno));
	if (pid == 0) {
		close(sockets[0]);
		close(error_pipe[0]);
		run_child(argv, envp, sockets[1], error_pipe[1]);
	}

	close(sockets[1]);
	close(error_pipe[1]);
	out->pid = pid;
	out->exec_error_fd = error_pipe[0];
	out->listener = receive_fd(sockets[0]);
	if (out->listener < 0) {
		int err = 0;

		if (read(error_pipe[0], &err, sizeof(err)) == sizeof(err) && err < 0 && -err == ENOSYS)
			die("seccomp user notification not supported by this kernel: needs Linux 5.14 or newer");
		die("installing the seccomp filter failed: %s; needs Linux 5.14 or newer with seccomp enabled", err < 0 ? strerror(-err) : "no listener received");
	}
	if (write(sockets[0], &ack, 1) != 1)
		die("cannot release the command after installing the filter: %s", strerror(errno));
	close(sockets[0]);
}
