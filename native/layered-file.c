/*
 * File calls on the layered filesystem (--upper). Reads use the file of
 * the topmost layer that has the name. A call that changes a file copies
 * it up into the writable top layer first and then acts there, and a
 * deletion of a name that a lower layer still has leaves a whiteout. The
 * base, the real tree, is never changed. Paths arrive as merged paths
 * (struct resolved's vpath) and leave as host paths in one layer.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "determinism.h"
#include "file-call.h"
#include "merged-dir.h"
#include "overlay.h"

/* overlay_resolve fills 8 KiB of paths; one static result per use keeps
 * them off the stack of the single-threaded core. */
static struct ov_result found, found2, parent;
/* The merged path of the name that prepare_create made room for. */
static char created[PATH_MAX];

static bool is_write_open(uint64_t flags)
{
	return (flags & O_ACCMODE) != O_RDONLY ||
	       (flags & (O_CREAT | O_TRUNC)) != 0;
}

static bool is_tmpfile(uint64_t flags)
{
	return (flags & O_TMPFILE) == O_TMPFILE;
}

static int64_t use_host(struct resolved *r, const struct ov_result *o)
{
	snprintf(r->host, sizeof(r->host), "%s", o->host);
	r->layer = (int)o->layer;
	r->dirfd = AT_FDCWD;
	return LAYERED_PERFORM;
}

static int64_t use_top(struct resolved *r, const char *path)
{
	int rc = overlay_host_path(overlay.top_layer, path, r->host,
				   sizeof(r->host));

	if (rc != 0)
		return rc;
	r->layer = (int)overlay.top_layer;
	r->dirfd = AT_FDCWD;
	return LAYERED_PERFORM;
}

/* Resolves vpath to an existing name: a whiteout counts as absent. */
static int resolve_existing(const char *vpath, bool no_follow,
			    struct ov_result *out)
{
	int rc;

	if (!vpath[0])
		return -ENAMETOOLONG;
	rc = overlay_resolve(vpath, no_follow, out);
	if (rc != 0)
		return rc;
	return out->kind == OV_FOUND ? 0 : -ENOENT;
}

/*
 * Splits vpath into its merged parent directory, resolved into `parent`,
 * and the last name, and writes the merged path of the name into child.
 * Returns 0, -EEXIST for "." or ".." (they always exist), or -errno.
 */
static int resolve_child(const char *vpath, char *child, size_t size)
{
	char dir[PATH_MAX], name[NAME_MAX + 1];
	const char *slash;
	size_t len = strlen(vpath);
	int n, rc;

	if (!vpath[0] || len >= sizeof(dir))
		return -ENAMETOOLONG;
	memcpy(dir, vpath, len + 1);
	while (len > 1 && dir[len - 1] == '/')
		dir[--len] = '\0';
	slash = strrchr(dir, '/');
	if (strlen(slash + 1) >= sizeof(name))
		return -ENAMETOOLONG;
	snprintf(name, sizeof(name), "%s", slash + 1);
	if (!name[0] || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EEXIST;
	dir[slash + 1 - dir] = '\0';
	rc = resolve_existing(dir, false, &parent);
	if (rc != 0)
		return rc;
	if (parent.type != INDEX_DIRECTORY)
		return -ENOTDIR;
	n = snprintf(child, size, "%s/%s",
		     strcmp(parent.path, "/") == 0 ? "" : parent.path, name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Removes a whiteout that the top layer has at path, so that a new file
 * can take the name. */
static void drop_top_whiteout(const char *path)
{
	char host[PATH_MAX];
	struct stat st;

	if (overlay_host_path(overlay.top_layer, path, host, sizeof(host)) == 0 &&
	    lstat(host, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0)
		unlink(host);
}

static bool top_has_whiteout(const char *path)
{
	char host[PATH_MAX];
	struct stat st;

	return overlay_host_path(overlay.top_layer, path, host, sizeof(host)) == 0 &&
	       lstat(host, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == 0;
}

/*
 * Replaces child, the merged path of a name to create, with the target
 * of the dangling symlink that has the name, link after link, because
 * open with O_CREAT creates the file that a dangling symlink names.
 * Callers that must not follow check for an existing name first.
 * Returns 0 or -errno (ELOOP after 40 links, as Linux's MAXSYMLINKS).
 */
static int follow_dangling(char *child, size_t size)
{
	char target[PATH_MAX], next[2 * PATH_MAX];
	ssize_t n;
	int rc;

	for (int links = 0; links < 40; links++) {
		if (overlay_resolve(child, true, &found2) != 0 ||
		    found2.kind != OV_FOUND)
			return 0;
		if (found2.type != INDEX_SYMLINK)
			return -EEXIST;
		n = readlink(found2.host, target, sizeof(target) - 1);
		if (n <= 0)
			return n < 0 ? -errno : -ENOENT;
		target[n] = '\0';
		if (target[0] == '/')
			snprintf(next, sizeof(next), "%s", target);
		else
			snprintf(next, sizeof(next), "%.*s/%s",
				 (int)(strrchr(child, '/') - child), child, target);
		if (strlen(next) >= PATH_MAX)
			return -ENAMETOOLONG;
		rc = resolve_child(next, child, size);
		if (rc != 0)
			return rc == -EEXIST ? -EISDIR : rc;
	}
	return -ELOOP;
}

/* Prepares the creation of a new name: its parent directories in the top
 * layer and no whiteout in the way. */
static int64_t prepare_create(struct resolved *r, bool *had_whiteout)
{
	char *child = created;
	int rc = resolve_child(r->vpath, child, sizeof(created));

	if (rc == 0)
		rc = follow_dangling(child, sizeof(created));
	if (rc != 0)
		return rc;
	if (had_whiteout)
		*had_whiteout = top_has_whiteout(child);
	drop_top_whiteout(child);
	rc = overlay_make_parents(child);
	return rc != 0 ? rc : use_top(r, child);
}

/* Tells whether a parent layer below the topmost one with the directory
 * o also has a directory there. The index keeps only the topmost parent
 * layer of each path, so the lower ones are looked at on disk. */
static bool in_lower_parent(const struct ov_result *o)
{
	char host[PATH_MAX];
	struct stat st;

	if (!o->dir.in_parents)
		return false;
	for (uint32_t layer = o->dir.parent_layer - 1; layer > 0; layer--)
		if (overlay_host_path(layer, o->path, host, sizeof(host)) == 0 &&
		    lstat(host, &st) == 0 && S_ISDIR(st.st_mode))
			return true;
	return false;
}

static bool is_merged_dir(const struct ov_result *o)
{
	int layers = o->dir.in_top + o->dir.in_parents + o->dir.in_base;

	if (o->type != INDEX_DIRECTORY)
		return false;
	return layers > 1 || in_lower_parent(o);
}

/* Points r at a synthetic directory that lists the merged directory o,
 * because getdents64 on the topmost layer's copy would show only that
 * layer's names. */
static int64_t use_merged_dir(struct resolved *r, const struct ov_result *o)
{
	int rc = merged_dir_open(o->path, r->host, sizeof(r->host));

	if (rc != 0)
		return rc;
	r->layer = (int)o->layer;
	r->dirfd = AT_FDCWD;
	return LAYERED_PERFORM;
}

static int64_t prepare_open(const struct file_call *f, struct resolved *r)
{
	bool no_follow = (f->flags & O_NOFOLLOW) ||
			 (f->flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL);
	int rc = resolve_existing(r->vpath, no_follow, &found);

	if (rc == -ENOENT && (f->flags & O_CREAT) && !is_tmpfile(f->flags))
		return prepare_create(r, NULL);
	if (rc != 0)
		return rc;
	/* Writing into a FIFO, socket or device changes no file, so the
	 * lower one is opened as it is: a copy would be another FIFO, which
	 * the reader of the lower one never meets. */
	if (!is_write_open(f->flags) ||
	    (found.type == INDEX_OTHER && !is_tmpfile(f->flags) &&
	     !(f->flags & O_CREAT && f->flags & O_EXCL))) {
		if (is_merged_dir(&found))
			return use_merged_dir(r, &found);
		r->base_file_at_abspath = found.layer == 0 &&
					  strcmp(found.path, r->abspath) == 0;
		return use_host(r, &found);
	}
	if ((f->flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL))
		return -EEXIST;
	if (is_tmpfile(f->flags)) {
		if (found.type != INDEX_DIRECTORY)
			return -ENOTDIR;
	} else if (found.type == INDEX_DIRECTORY) {
		return -EISDIR;
	}
	rc = overlay_copy_up(&found);
	return rc != 0 ? rc : use_top(r, found.path);
}

/* Copies the file up and points r at the copy, for calls that change
 * the file's attributes. */
static int64_t prepare_change(struct resolved *r, bool no_follow)
{
	int rc = resolve_existing(r->vpath, no_follow, &found);

	if (rc == 0)
		rc = overlay_copy_up(&found);
	return rc != 0 ? rc : use_top(r, found.path);
}

static int64_t prepare_read(struct resolved *r, bool no_follow)
{
	int rc = resolve_existing(r->vpath, no_follow, &found);

	return rc != 0 ? rc : use_host(r, &found);
}

/* ---- deletions and renames ---- */

static void count_entry(const char *name, uint8_t type, uint32_t layer,
			void *context)
{
	(void)name;
	(void)type;
	(void)layer;
	++*(size_t *)context;
}

static bool merged_empty(const char *path)
{
	size_t count = 0;

	return overlay_readdir(path, count_entry, &count) == 0 && count == 0;
}

/* Removes a directory of the top layer whose merged view is empty: it
 * can still contain whiteouts of lower names. */
static int remove_top_dir(const char *host)
{
	DIR *dir = opendir(host);
	struct dirent *d;

	if (!dir)
		return -errno;
	while ((d = readdir(dir)))
		if (strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0)
			unlinkat(dirfd(dir), d->d_name, 0);
	closedir(dir);
	return rmdir(host) == 0 ? 0 : -errno;
}

static bool is_pure_top_dir(const struct ov_result *o)
{
	return o->layer == overlay.top_layer && !o->dir.in_parents &&
	       !o->dir.in_base;
}

/* Leaves a whiteout at path when a lower layer still shows the name. */
static int whiteout_if_lower(const char *path)
{
	if (overlay_resolve(path, true, &found2) != 0 || found2.kind != OV_FOUND)
		return 0;
	return overlay_whiteout(path);
}

static const char *last_name(const char *vpath)
{
	static char name[NAME_MAX + 1];
	size_t len = strlen(vpath);
	const char *start;

	while (len > 1 && vpath[len - 1] == '/')
		len--;
	start = vpath + len;
	while (start > vpath && start[-1] != '/')
		start--;
	snprintf(name, sizeof(name), "%.*s", (int)(vpath + len - start), start);
	return name;
}

static int64_t layered_unlink(const struct file_call *f, struct resolved *r)
{
	bool remove_dir = f->at_flags & AT_REMOVEDIR;
	int rc;

	if (remove_dir && strcmp(last_name(r->vpath), ".") == 0)
		return -EINVAL;
	rc = resolve_existing(r->vpath, true, &found);
	if (rc != 0)
		return rc;
	if (remove_dir && found.type != INDEX_DIRECTORY)
		return -ENOTDIR;
	if (!remove_dir && found.type == INDEX_DIRECTORY)
		return -EISDIR;
	if (remove_dir && strcmp(found.path, "/") == 0)
		return -EBUSY;
	if (remove_dir && !merged_empty(found.path))
		return -ENOTEMPTY;
	if (found.layer == overlay.top_layer) {
		rc = remove_dir ? remove_top_dir(found.host)
				: (unlink(found.host) == 0 ? 0 : -errno);
		if (rc != 0)
			return rc;
	}
	return whiteout_if_lower(found.path);
}

struct name_list {
	char **items;
	size_t count;
};

static void add_name(const char *name, uint8_t type, uint32_t layer,
		     void *context)
{
	struct name_list *list = context;

	(void)type;
	(void)layer;
	list->items = xrealloc(list->items, (list->count + 1) * sizeof(char *));
	list->items[list->count++] = xstrdup(name);
}

/* Gives a directory recreated over a whiteout one whiteout per name that
 * the layers below show again, because uwrx uses no opaque xattrs. */
static void hide_lower_names(const char *path)
{
	struct name_list list = { 0 };
	char child[PATH_MAX];

	overlay_readdir(path, add_name, &list);
	for (size_t i = 0; i < list.count; i++) {
		int n = snprintf(child, sizeof(child), "%s/%s", path, list.items[i]);

		if (n > 0 && (size_t)n < sizeof(child))
			overlay_whiteout(child);
		free(list.items[i]);
	}
	free(list.items);
}

static int64_t layered_mkdir(const struct file_call *f, struct resolved *r)
{
	bool had_whiteout = false;
	int64_t rc;

	if (resolve_existing(r->vpath, true, &found) == 0)
		return -EEXIST;
	rc = prepare_create(r, &had_whiteout);
	if (rc != LAYERED_PERFORM)
		return rc;
	if (mkdir(r->host, f->mode) != 0)
		return -errno;
	det_path_modified(AT_FDCWD, r->host, AT_SYMLINK_NOFOLLOW);
	if (had_whiteout)
		hide_lower_names(created);
	return 0;
}

/*
 * Renames within the top layer after copying the source up. A directory
 * that any lower layer takes part in fails with EXDEV, as on overlayfs
 * without redirect_dir, and mv then copies it and deletes the source.
 */
static int64_t layered_rename(const struct file_call *f, struct resolved *r,
			      struct resolved *r2)
{
	char src[PATH_MAX], dst[PATH_MAX], dst_host[PATH_MAX];
	bool src_dir;
	int rc;

	if (f->at_flags & ~RENAME_NOREPLACE)
		return -EXDEV;
	rc = resolve_existing(r->vpath, true, &found);
	if (rc != 0)
		return rc;
	src_dir = found.type == INDEX_DIRECTORY;
	if (src_dir && !is_pure_top_dir(&found))
		return -EXDEV;
	snprintf(src, sizeof(src), "%s", found.path);
	rc = resolve_child(r2->vpath, dst, sizeof(dst));
	if (rc != 0)
		return rc == -EEXIST ? -EBUSY : rc;
	if (strcmp(src, dst) == 0)
		return 0;
	if (resolve_existing(dst, true, &found2) == 0) {
		if (f->at_flags & RENAME_NOREPLACE)
			return -EEXIST;
		if (src_dir && found2.type != INDEX_DIRECTORY)
			return -ENOTDIR;
		if (!src_dir && found2.type == INDEX_DIRECTORY)
			return -EISDIR;
		if (src_dir && !merged_empty(dst))
			return -ENOTEMPTY;
		if (src_dir && !is_pure_top_dir(&found2))
			return -EXDEV;
		if (src_dir)
			remove_top_dir(found2.host);
	}
	rc = overlay_resolve(src, true, &found);
	if (rc == 0)
		rc = overlay_copy_up(&found);
	if (rc == 0)
		rc = overlay_make_parents(dst);
	if (rc == 0)
		rc = overlay_host_path(overlay.top_layer, dst, dst_host, sizeof(dst_host));
	if (rc != 0)
		return rc;
	drop_top_whiteout(dst);
	if (overlay_host_path(overlay.top_layer, src, found.host, sizeof(found.host)) != 0)
		return -ENAMETOOLONG;
	if (syscall(SYS_renameat2, AT_FDCWD, found.host, AT_FDCWD, dst_host,
		    (unsigned int)f->at_flags) != 0)
		return -errno;
	det_path_modified(AT_FDCWD, dst_host, AT_SYMLINK_NOFOLLOW);
	return whiteout_if_lower(src);
}

static int64_t layered_symlink(struct call *c, const struct file_call *f,
			       struct resolved *r)
{
	static char target[PATH_MAX];
	int64_t rc;

	if (tracee_read_string(c->tid, f->buf, target, sizeof(target)) < 0)
		return -EFAULT;
	if (!target[0])
		return -ENOENT;
	if (resolve_existing(r->vpath, true, &found) == 0)
		return -EEXIST;
	rc = prepare_create(r, NULL);
	if (rc != LAYERED_PERFORM)
		return rc;
	if (symlink(target, r->host) != 0)
		return -errno;
	det_path_modified(AT_FDCWD, r->host, AT_SYMLINK_NOFOLLOW);
	return 0;
}

/* Links the top layer's copy of the source: a file of a lower layer is
 * copied up first, and the link shares the copy. */
static int64_t layered_link(const struct file_call *f, struct resolved *r,
			    struct resolved *r2)
{
	char src[PATH_MAX];
	int64_t rc = resolve_existing(r->vpath, !(f->at_flags & AT_SYMLINK_FOLLOW), &found);

	if (rc != 0)
		return rc;
	if (found.type == INDEX_DIRECTORY)
		return -EPERM;
	if (resolve_existing(r2->vpath, true, &found2) == 0)
		return -EEXIST;
	rc = overlay_copy_up(&found);
	if (rc == 0)
		rc = overlay_host_path(overlay.top_layer, found.path, src, sizeof(src));
	if (rc != 0)
		return rc;
	rc = prepare_create(r2, NULL);
	if (rc != LAYERED_PERFORM)
		return rc;
	if (link(src, r2->host) != 0)
		return -errno;
	det_path_modified(AT_FDCWD, r2->host, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int64_t layered_truncate(const struct file_call *f, struct resolved *r)
{
	int64_t rc = prepare_change(r, false);

	if (rc != LAYERED_PERFORM)
		return rc;
	if (truncate(r->host, (off_t)f->size) != 0)
		return -errno;
	det_path_modified(AT_FDCWD, r->host, 0);
	return 0;
}

/* Creates FIFOs and regular files. Devices stay out of the layer, as an
 * ordinary user could not copy them later. */
static int64_t layered_mknod(const struct file_call *f, struct resolved *r)
{
	mode_t type = f->mode & S_IFMT;
	int64_t rc;

	if (type != 0 && type != S_IFREG && type != S_IFIFO)
		return -EPERM;
	if (resolve_existing(r->vpath, true, &found) == 0)
		return -EEXIST;
	rc = prepare_create(r, NULL);
	if (rc != LAYERED_PERFORM)
		return rc;
	if (mknod(r->host, f->mode, 0) != 0)
		return -errno;
	det_path_modified(AT_FDCWD, r->host, AT_SYMLINK_NOFOLLOW);
	return 0;
}

/*
 * Rewrites link, the /proc magic link of a tracee fd, to the host path
 * of the merged directory when the fd is a synthetic directory, so that
 * fstat reports the merged directory and not its placeholder. Sets layer
 * to the layer of that host path, to the parent layer of a file that the
 * fd names in place, or to -1.
 */
void layered_fd_target(char *link, size_t size, int *layer)
{
	char host[PATH_MAX], merged[PATH_MAX];
	ssize_t n = readlink(link, host, sizeof(host) - 1);

	*layer = -1;
	if (n < 0)
		return;
	host[n] = '\0';
	if (!merged_dir_virtual_path(host, merged, sizeof(merged))) {
		/* A file of a parent layer that a read-only open reached
		 * reports that layer's time, as a stat of its path does. */
		*layer = overlay_parent_layer_of(host);
		return;
	}
	if (resolve_existing(merged, false, &found) != 0)
		return;
	snprintf(link, size, "%s", found.host);
	*layer = (int)found.layer;
}

/*
 * Resolves the program of an exec or the directory of a chdir on the
 * merged view and writes its host path into host. Returns 1 when the
 * kernel must be given host because the tracee's own path does not reach
 * the same file, 0 when it does, or -errno.
 */
int layered_host_target(const struct resolved *r, const char *path,
			bool want_dir, char *host, size_t size)
{
	struct stat seen, wanted;
	int rc = resolve_existing(r->vpath, false, &found);

	if (rc != 0)
		return rc;
	if (want_dir && found.type != INDEX_DIRECTORY)
		return -ENOTDIR;
	if (snprintf(host, size, "%s", found.host) >= (int)size)
		return -ENAMETOOLONG;
	if (stat(found.host, &wanted) != 0)
		return -errno;
	if (fstatat(r->dirfd, path, &seen, 0) == 0 &&
	    seen.st_dev == wanted.st_dev && seen.st_ino == wanted.st_ino)
		return 0;
	return 1;
}

/* Reads a /proc magic link of the tracee (exe, cwd, root or fd/N) and
 * maps a target in a layer to its merged path. Returns the length or
 * -errno, or INT64_MIN when abspath is no such link. */
int64_t layered_proc_readlink(struct call *c, const struct file_call *f,
			      const char *abspath)
{
	char link[PATH_MAX], target[PATH_MAX], merged[PATH_MAX];
	const char *rest, *name;
	size_t len;
	ssize_t n;

	if (strncmp(abspath, "/proc/self/", 11) == 0) {
		rest = abspath + 10;
		snprintf(link, sizeof(link), "/proc/%d%s", (int)c->proc->tgid, rest);
	} else if (strncmp(abspath, "/proc/thread-self/", 18) == 0) {
		rest = abspath + 17;
		snprintf(link, sizeof(link), "/proc/%d/task/%d%s",
			 (int)c->proc->tgid, (int)c->tid, rest);
	} else {
		snprintf(link, sizeof(link), "%s", abspath);
	}
	name = strrchr(link, '/') + 1;
	if (strcmp(name, "exe") != 0 && strcmp(name, "cwd") != 0 &&
	    strcmp(name, "root") != 0 &&
	    !(name - link >= 4 && strncmp(name - 4, "/fd/", 4) == 0))
		return INT64_MIN;
	if ((int)f->size <= 0)
		return -EINVAL;
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	if (layered_virtual_path(target, merged, sizeof(merged)))
		snprintf(target, sizeof(target), "%s", merged);
	len = strlen(target);
	if (len > f->size)
		len = f->size;
	if (tracee_write(c->tid, f->buf, target, len) != (ssize_t)len)
		return -EFAULT;
	return (int64_t)len;
}

/*
 * Returns -EROFS for fchmod, fchown or ftruncate on an fd of a file of
 * the base or a parent layer, which a read-only open gives the tracee
 * without a copy-up, or INT64_MIN to let the kernel act on any other fd.
 */
int64_t layered_fd_change(struct call *c)
{
	char link[64], target[PATH_MAX];
	struct stat by_fd, by_path;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)c->tid,
		 (int)c->req->data.args[0]);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0 || stat(link, &by_fd) != 0)
		return INT64_MIN;
	target[n] = '\0';
	/* Pipes, sockets and memfds have no path that reaches their inode. */
	if (target[0] != '/' || is_kernel_only_dev(by_fd.st_dev) ||
	    lstat(target, &by_path) != 0 || by_path.st_dev != by_fd.st_dev ||
	    by_path.st_ino != by_fd.st_ino)
		return INT64_MIN;
	/* NOTE: like overlay_virtual_path, this compares paths, so --upper
	 * must be given without symlinks in it, as /proc reports paths. */
	if (strncmp(target, overlay.upper, strlen(overlay.upper)) == 0 &&
	    target[strlen(overlay.upper)] == '/')
		return INT64_MIN;
	return -EROFS;
}

/*
 * Restarts an open or openat with r's host path in place of the tracee's
 * path, by the ptrace step that chdir and exec use. The kernel must open
 * FIFOs, sockets and devices of a layer itself: the core would block on
 * a FIFO, and the tracee's own path reaches the real tree. It must also
 * open O_PATH files, which ADDFD cannot install. Returns LAYERED_PERFORM
 * once the call is restarted, or -errno.
 */
int64_t layered_open_at_host(struct call *c, const struct resolved *r)
{
	int path_arg = c->req->data.nr == __NR_openat ? 1 : 0;

#if defined(__x86_64__)
	if (exec_trace_begin(c, NULL, r->host, path_arg))
		return LAYERED_PERFORM;
#else
	(void)path_arg;
#endif
	/* NOTE: without ptrace (a tracee under strace or gdb, or a host
	 * where the path register cannot be rewritten) such an open fails,
	 * because letting the kernel continue would open the real tree. */
	log_debug("open of %s in a layer needs the ptrace step, which is unavailable", r->host);
	return -EOPNOTSUPP;
}

/* Performs getcwd(buf, size) with the merged path of the tracee's cwd. */
int64_t layered_getcwd(struct call *c)
{
	char link[64], host[PATH_MAX], merged[PATH_MAX];
	struct stat st;
	uint64_t buf = c->req->data.args[0], size = c->req->data.args[1];
	size_t len;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/cwd", (int)c->tid);
	/* The kernel's getcwd fails for a removed directory, where the
	 * link reads "PATH (deleted)"; st_nlink is 0 only then. */
	if (stat(link, &st) == 0 && st.st_nlink == 0)
		return -ENOENT;
	n = readlink(link, host, sizeof(host) - 1);
	if (n < 0)
		return INT64_MIN;
	host[n] = '\0';
	if (layered_virtual_path(host, merged, sizeof(merged)))
		snprintf(host, sizeof(host), "%s", merged);
	/* The kernel reports a cwd outside the root as unreachable. */
	if (host[0] != '/')
		return -ENOENT;
	len = strlen(host) + 1;
	if (size < len)
		return -ERANGE;
	if (tracee_write(c->tid, buf, host, len) != (ssize_t)len)
		return -EFAULT;
	return (int64_t)len;
}

/*
 * Applies the layers to a file call. Returns LAYERED_PERFORM after
 * pointing r (and r2) at host paths for the caller's own code, or the
 * call's result when the call is done here.
 */
int64_t layered_prepare(struct call *c, const struct file_call *f,
			struct resolved *r, struct resolved *r2)
{
	bool no_follow = f->at_flags & AT_SYMLINK_NOFOLLOW;

	switch (f->op) {
	case OP_OPEN:
		return prepare_open(f, r);
	case OP_STAT:
	case OP_STATX:
	case OP_FACCESSAT2:
		return prepare_read(r, no_follow);
	case OP_ACCESS:
		return prepare_read(r, false);
	case OP_READLINK:
		return prepare_read(r, true);
	case OP_CHMOD:
		return prepare_change(r, false);
	case OP_CHOWN:
	case OP_UTIMENS:
		return prepare_change(r, no_follow);
	case OP_UNLINK:
		return layered_unlink(f, r);
	case OP_MKDIR:
		return layered_mkdir(f, r);
	case OP_RENAME:
		return layered_rename(f, r, r2);
	case OP_SYMLINK:
		return layered_symlink(c, f, r);
	case OP_LINK:
		return layered_link(f, r, r2);
	case OP_TRUNCATE:
		return layered_truncate(f, r);
	case OP_MKNOD:
		return layered_mknod(f, r);
	default:
		/* openat2 has resolve flags that the layered walk does not
		 * implement; ENOSYS makes callers fall back to openat. */
		return -ENOSYS;
	}
}
