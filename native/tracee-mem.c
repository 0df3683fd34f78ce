/* Reads and writes of traced memory with process_vm_readv/writev. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core.h"

static size_t page_size(void)
{
	static size_t size;

	if (!size)
		size = (size_t)sysconf(_SC_PAGESIZE);
	return size;
}

ssize_t tracee_read(pid_t tid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };

	return process_vm_readv(tid, &local, 1, &remote, 1, 0);
}

ssize_t tracee_write(pid_t tid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec local = { (void *)buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };

	return process_vm_writev(tid, &local, 1, &remote, 1, 0);
}

/*
 * Reads a NUL-terminated string. Each read stops at a page boundary: a
 * string may end just before an unmapped page, and a read across it would
 * fail as a whole. Returns the length, or -errno (ENAMETOOLONG when it
 * does not fit in size).
 */
int tracee_read_string(pid_t tid, uint64_t addr, char *buf, size_t size)
{
	size_t done = 0;

	if (addr == 0)
		return -EFAULT;
	while (done < size) {
		size_t to_page = page_size() - ((addr + done) & (page_size() - 1));
		size_t chunk = to_page < size - done ? to_page : size - done;
		ssize_t n = tracee_read(tid, addr + done, buf + done, chunk);
		char *nul;

		if (n <= 0)
			return n < 0 ? -errno : -EFAULT;
		nul = memchr(buf + done, '\0', (size_t)n);
		if (nul)
			return (int)(nul - buf);
		done += (size_t)n;
	}
	buf[size - 1] = '\0';
	return -ENAMETOOLONG;
}

/*
 * Reads a NULL-terminated array of string pointers (argv). Stops at
 * max_total bytes of strings; returns NULL when the array is unreadable.
 */
char **tracee_read_argv(pid_t tid, uint64_t addr, size_t max_total)
{
	char **argv = NULL;
	size_t count = 0, total = 0;
	char *buf = xmalloc(65536);

	if (addr == 0)
		goto out;
	for (;;) {
		uint64_t ptr = 0;
		size_t width = sizeof(void *);
		int len;

		if (tracee_read(tid, addr + count * width, &ptr, width) != (ssize_t)width)
			break;
		if (ptr == 0 || total >= max_total)
			break;
		len = tracee_read_string(tid, ptr, buf, 65536);
		if (len < 0)
			break;
		argv = xrealloc(argv, (count + 2) * sizeof(char *));
		argv[count++] = xstrdup(buf);
		argv[count] = NULL;
		total += (size_t)len + 1;
	}
out:
	free(buf);
	if (!argv) {
		argv = xmalloc(sizeof(char *));
		argv[0] = NULL;
	}
	return argv;
}
