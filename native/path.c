/*
 * Resolution of a traced call's (dirfd, path) pair into a directory fd the
 * core can use with *at() calls and an absolute path for the trace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "merged-dir.h"
#include "overlay.h"

static dev_t kernel_only_devs[3];

/* Remembers the devices of /proc, /sys and /dev, so that a path reaching
 * them through a symlink (/etc/mtab -> ../proc/self/mounts) is still left
 * to the kernel: the core resolving /proc/self would see itself. */
void path_init(void)
{
	static const char *const roots[] = { "/proc", "/sys", "/dev" };
	struct stat st;

	for (int i = 0; i < 3; i++)
		kernel_only_devs[i] = stat(roots[i], &st) == 0 ? st.st_dev : (dev_t)-1;
}

bool is_kernel_only_dev(dev_t dev)
{
	for (int i = 0; i < 3; i++)
		if (kernel_only_devs[i] == dev)
			return true;
	return false;
}

static bool has_prefix_dir(const char *path, const char *dir)
{
	size_t len = strlen(dir);

	return strncmp(path, dir, len) == 0 &&
	       (path[len] == '\0' || path[len] == '/');
}

static bool is_kernel_only_path(const char *abspath)
{
	return has_prefix_dir(abspath, "/proc") ||
	       has_prefix_dir(abspath, "/sys") ||
	       has_prefix_dir(abspath, "/dev");
}

/* Joins base and path and removes ".", ".." and repeated slashes without
 * following symlinks, as the trace's abspath is defined. */
static void normalize_join(const char *base, const char *path, char *out,
			   size_t size)
{
	char joined[2 * PATH_MAX + 2];
	size_t len = 0;
	char *save = NULL, *part;

	if (path[0] == '/')
		snprintf(joined, sizeof(joined), "%s", path);
	else
		snprintf(joined, sizeof(joined), "%s/%s", base, path);

	out[0] = '\0';
	for (part = strtok_r(joined, "/", &save); part;
	     part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0)
			continue;
		if (strcmp(part, "..") == 0) {
			char *slash = strrchr(out, '/');

			len = slash ? (size_t)(slash - out) : 0;
			out[len] = '\0';
			continue;
		}
		len += (size_t)snprintf(out + len, size - len, "/%s", part);
		if (len >= size) {
			len = size - 1;
			break;
		}
	}
	if (len == 0)
		snprintf(out, size, "/");
}

static bool read_fd_path(pid_t tid, int fd, char *out, size_t size)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)tid, fd);
	n = readlink(link, out, size - 1);
	if (n < 0)
		return false;
	out[n] = '\0';
	return true;
}

/* Turns a host directory path from /proc into its path on the merged
 * view: a directory of a layer, or a synthetic directory that lists a
 * merged one, stands for its merged path. Returns true when it rewrote
 * dir, false for a base directory, which is its own merged path. */
static bool to_virtual(char *dir, size_t size)
{
	char merged[PATH_MAX];

	if (!overlay.enabled || !layered_virtual_path(dir, merged, sizeof(merged)))
		return false;
	snprintf(dir, size, "%s", merged);
	return true;
}

/* Joins the merged base and path without normalizing, so that the layered
 * walk applies ".." after symlinks as the kernel does. */
static void join_virtual(const char *base, const char *path,
			 struct resolved *out)
{
	int n;

	if (path[0] == '/')
		n = snprintf(out->vpath, sizeof(out->vpath), "%s", path);
	else
		n = snprintf(out->vpath, sizeof(out->vpath), "%s/%s", base, path);
	if (n < 0 || (size_t)n >= sizeof(out->vpath))
		out->vpath[0] = '\0';
}

/*
 * Fills out for one path argument. Returns 0, or -errno when the dirfd is
 * not open in the tracee (EBADF, as the kernel would return) or the
 * tracee's cwd cannot be opened.
 */
int resolve_path(struct process *p, pid_t tid, int dirfd_arg,
		 const char *path, struct resolved *out)
{
	char base[PATH_MAX] = "/";
	char link[64];

	out->dirfd = AT_FDCWD;
	out->close_dirfd = false;
	out->opened_proc_file = false;
	out->real_start = true;

	if (path[0] == '/') {
		normalize_join("/", path, out->abspath, sizeof(out->abspath));
	} else if (dirfd_arg == AT_FDCWD) {
		out->dirfd = proc_cwd_fd(p, tid, &out->opened_proc_file);
		if (out->dirfd < 0)
			return -ESRCH;
		snprintf(base, sizeof(base), "%s", p->cwd ? p->cwd : "/");
		out->real_start = !to_virtual(base, sizeof(base));
		normalize_join(base, path, out->abspath, sizeof(out->abspath));
	} else {
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)tid, dirfd_arg);
		out->dirfd = open(link, O_PATH | O_CLOEXEC);
		if (out->dirfd < 0)
			return -EBADF;
		out->close_dirfd = true;
		out->opened_proc_file = true;
		if (read_fd_path(tid, dirfd_arg, base, sizeof(base))) {
			out->real_start = !to_virtual(base, sizeof(base));
		} else {
			snprintf(base, sizeof(base), "/");
			out->real_start = false;
		}
		normalize_join(base, path, out->abspath, sizeof(out->abspath));
	}
	out->tracee_dirfd = out->dirfd;
	if (overlay.enabled)
		join_virtual(base, path, out);
	out->kernel_only = is_kernel_only_path(out->abspath) ||
			   (path[0] != '/' && dirfd_arg == AT_FDCWD &&
			    is_kernel_only_path(base));
	return 0;
}

/* Sets the fields that resolved_release and record() read. An initializer
 * would zero all 8 KiB of abspath for each of the two per file call. */
void resolved_init(struct resolved *r)
{
	r->dirfd = -1;
	r->tracee_dirfd = -1;
	r->close_dirfd = false;
	r->abspath[0] = '\0';
	r->kernel_only = false;
	r->opened_proc_file = false;
	r->vpath[0] = '\0';
	r->layer = -1;
	r->real_start = false;
	r->base_file_at_abspath = false;
}

void resolved_release(struct resolved *r)
{
	/* dirfd may have been replaced by the layered step: close the fd
	 * that resolve_path opened. */
	if (r->close_dirfd && r->tracee_dirfd >= 0)
		close(r->tracee_dirfd);
	r->close_dirfd = false;
}
