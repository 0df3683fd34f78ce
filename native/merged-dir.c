/*
 * Synthetic directories that stand for merged directories of the layers.
 * The kernel serves getdents64 on an fd without notifying the core. So a
 * directory that more than one layer takes part in is opened as a
 * scratch directory with one placeholder per merged name. A placeholder
 * is an empty file, a directory, a symlink or a FIFO, so d_type is right.
 * The core maps the scratch path back to the merged directory, so calls
 * relative to such an fd (openat, fstatat, unlinkat) and fstat of it
 * act on the layers, never on the placeholders.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "merged-dir.h"
#include "overlay.h"

/* The scratch directory, empty until merged_dir_setup. */
static char scratch[PATH_MAX];
/* The merged path of each synthetic directory, by its number. */
static char **virtual_dirs;
static size_t dir_count;

int merged_dir_setup(const char *buffer_dir)
{
	char dir[PATH_MAX];

	if (!realpath(buffer_dir, dir))
		return -errno;
	if (snprintf(scratch, sizeof(scratch), "%s/merged-dirs", dir) >= (int)sizeof(scratch))
		return -ENAMETOOLONG;
	if (mkdir(scratch, 0700) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

struct placeholder_dir {
	int dirfd;
	const char *path; /* the merged directory */
};

/* Reads the target of a symlink entry, so that a readlink through the
 * placeholder itself returns the right target. */
static void link_target(const char *path, const char *name, uint32_t layer,
			char *out, size_t size)
{
	char child[PATH_MAX], host[PATH_MAX];
	ssize_t n = -1;

	snprintf(out, size, ".");
	if (snprintf(child, sizeof(child), "%s/%s", strcmp(path, "/") == 0 ? "" : path, name) >= (int)sizeof(child))
		return;
	if (overlay_host_path(layer, child, host, sizeof(host)) == 0)
		n = readlink(host, out, size - 1);
	if (n > 0)
		out[n] = '\0';
	else
		snprintf(out, size, ".");
}

static void add_placeholder(const char *name, uint8_t type, uint32_t layer,
			    void *context)
{
	const struct placeholder_dir *dir = context;
	char target[PATH_MAX];
	int fd;

	switch (type) {
	case INDEX_DIRECTORY:
		mkdirat(dir->dirfd, name, 0700);
		break;
	case INDEX_SYMLINK:
		link_target(dir->path, name, layer, target, sizeof(target));
		symlinkat(target, dir->dirfd, name);
		break;
	case INDEX_FILE:
		fd = openat(dir->dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
		break;
	default:
		/* NOTE: sockets and devices are listed as FIFOs (DT_FIFO),
		 * because an ordinary user cannot create devices. */
		mkfifoat(dir->dirfd, name, 0600);
		break;
	}
}

/*
 * Builds a new synthetic directory for the merged directory at path and
 * writes its host path into out. A new one per open keeps the listing of
 * an fd from changing while a reader such as rm -rf removes the names.
 * NOTE: the synthetic directories stay until merged_dir_cleanup at exit,
 * because the core does not see the tracee close them.
 */
int merged_dir_open(const char *path, char *out, size_t size)
{
	struct placeholder_dir dir = { .path = path };
	int n, rc;

	if (!scratch[0])
		return -ENOTSUP;
	n = snprintf(out, size, "%s/%zu", scratch, dir_count);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	if (mkdir(out, 0700) != 0)
		return -errno;
	dir.dirfd = open(out, O_DIRECTORY | O_PATH | O_CLOEXEC);
	if (dir.dirfd < 0)
		return -errno;
	rc = overlay_readdir(path, add_placeholder, &dir);
	close(dir.dirfd);
	if (rc != 0)
		return rc;

	virtual_dirs = xrealloc(virtual_dirs, (dir_count + 1) * sizeof(char *));
	virtual_dirs[dir_count++] = xstrdup(path);
	return 0;
}

/*
 * Maps a host path inside a synthetic directory to its merged path.
 * Returns false when host is not in the scratch directory.
 */
bool merged_dir_virtual_path(const char *host, char *out, size_t size)
{
	size_t len = strlen(scratch);
	const char *rest;
	char *end;
	unsigned long number;
	int n;

	if (!scratch[0] || strncmp(host, scratch, len) != 0 || host[len] != '/')
		return false;
	number = strtoul(host + len + 1, &end, 10);
	if (end == host + len + 1 || (*end != '\0' && *end != '/') ||
	    number >= dir_count)
		return false;
	rest = end;
	if (strcmp(virtual_dirs[number], "/") == 0 && rest[0])
		n = snprintf(out, size, "%s", rest);
	else
		n = snprintf(out, size, "%s%s", virtual_dirs[number], rest);
	return n >= 0 && (size_t)n < size;
}

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Removes the scratch directory with every synthetic directory in it. */
void merged_dir_cleanup(void)
{
	if (!scratch[0])
		return;
	nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Maps a host path inside a layer or a synthetic directory to its merged
 * path. Returns false for a path outside both. */
bool layered_virtual_path(const char *host, char *out, size_t size)
{
	return merged_dir_virtual_path(host, out, size) ||
	       overlay_virtual_path(host, out, size);
}
