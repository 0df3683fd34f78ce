/*
 * Path resolution on the merged view of the layers, bottom to top: the
 * base (the real root, or layer 0 of the index), the parent layers of the
 * index and the writable top layer. A name is looked up top-down: the
 * topmost layer that has it decides. A whiteout (character device 0/0)
 * hides it, a non-directory hides everything below, and a directory
 * merges with the directories below it until a layer has a whiteout or a
 * non-directory at that path. The index already applies these rules
 * among the parent layers, so one probe covers all of them. Functions
 * here keep their walk state in static buffers and are not reentrant,
 * which suits the single-threaded core.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "overlay.h"

/* Linux's limit on symlinks followed in one lookup (MAXSYMLINKS). */
#define MAX_SYMLINKS 40
#define MAX_DEPTH 1024

struct overlay overlay;

struct child_hit {
	enum ov_kind kind;
	uint32_t layer;
	uint8_t type;
	struct ov_dir dir;
	const char *index_target; /* a symlink found through the index */
};

static int fail(char *error, size_t size, int err, const char *message)
{
	snprintf(error, size, "%s", message);
	return -err;
}

/*
 * Sets up the stack from --upper and --layer-index. Without an index the
 * base is the real root and the top layer is layer 1. Returns 0, or
 * -errno with a message in error.
 */
int overlay_setup(const char *upper, const char *index_file, char *error,
		  size_t error_size)
{
	size_t len = strlen(upper);

	if (upper[0] != '/' || len >= sizeof(overlay.upper))
		return fail(error, error_size, EINVAL, "expected an absolute directory path");
	snprintf(overlay.upper, sizeof(overlay.upper), "%s", upper);
	while (len > 1 && overlay.upper[len - 1] == '/')
		overlay.upper[--len] = '\0';
	snprintf(overlay.base, sizeof(overlay.base), "/");
	overlay.top_layer = 1;
	if (index_file) {
		int rc = layer_index_open(index_file, &overlay.index, error, error_size);

		if (rc != 0)
			return rc;
		snprintf(overlay.base, sizeof(overlay.base), "%s",
			 layer_index_layer_path(&overlay.index, 0));
		overlay.top_layer = overlay.index.layer_count - 1;
	}
	/* Without this descriptor the walk still works, component by
	 * component, so a failure here is not an error. */
	overlay.base_fd = open(overlay.base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	overlay.enabled = true;
	return 0;
}

const char *overlay_layer_root(uint32_t layer)
{
	if (layer == overlay.top_layer)
		return overlay.upper;
	if (layer == 0)
		return overlay.base;
	return layer_index_layer_path(&overlay.index, layer);
}

/* Places a merged path under a layer's root. Returns 0 or -ENAMETOOLONG. */
int overlay_host_path(uint32_t layer, const char *path, char *out, size_t size)
{
	const char *root = overlay_layer_root(layer);
	size_t root_len = strlen(root);
	int n;

	if (strcmp(root, "/") == 0)
		n = snprintf(out, size, "%s", path);
	else if (strcmp(path, "/") == 0)
		n = snprintf(out, size, "%.*s", (int)root_len, root);
	else
		n = snprintf(out, size, "%s%s", root, path);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static uint8_t type_of_mode(const struct stat *st)
{
	if (S_ISREG(st->st_mode))
		return INDEX_FILE;
	if (S_ISDIR(st->st_mode))
		return INDEX_DIRECTORY;
	if (S_ISLNK(st->st_mode))
		return INDEX_SYMLINK;
	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0))
		return INDEX_WHITEOUT;
	return INDEX_OTHER;
}

/* Returns the type of path in layer, or INDEX_EMPTY when the layer does
 * not have it. ENOTDIR counts as absent: a layer may have a file where
 * the merged view has a directory. */
static int top_root_fd(void);

static uint8_t layer_type(uint32_t layer, const char *path)
{
	char host[PATH_MAX];
	struct stat st;
	int root_fd = layer == overlay.top_layer ? top_root_fd() : -1;
	int rc;

	if (overlay_host_path(layer, path, host, sizeof(host)) != 0)
		return INDEX_EMPTY;
	/* Relative to the kept root, the kernel skips the components of
	 * --upper itself on each of the walk's lookups in the top layer. */
	if (root_fd >= 0)
		rc = fstatat(root_fd, path[1] ? path + 1 : ".", &st,
			     AT_SYMLINK_NOFOLLOW);
	else
		rc = lstat(host, &st);
	return rc == 0 ? type_of_mode(&st) : INDEX_EMPTY;
}

static bool parent_entry(const struct ov_dir *parent, const char *path,
			 struct index_entry *e)
{
	return parent->in_parents &&
	       layer_index_lookup(&overlay.index, path, strlen(path), e);
}

/* Fills the layers below a directory found in the top layer. */
static void merge_below_top(const struct ov_dir *parent, const char *path,
			    struct ov_dir *dir)
{
	struct index_entry e;

	if (parent_entry(parent, path, &e)) {
		if (e.type != INDEX_DIRECTORY)
			return;
		dir->in_parents = true;
		dir->parent_layer = e.layer;
		if (e.flags & INDEX_FLAG_OPAQUE)
			return;
	}
	dir->in_base = parent->in_base &&
		       layer_type(0, path) == INDEX_DIRECTORY;
}

static bool hit_in_top(const struct ov_dir *parent, const char *path,
		       struct child_hit *hit)
{
	uint8_t type = parent->in_top ? layer_type(overlay.top_layer, path) : INDEX_EMPTY;

	if (type == INDEX_EMPTY)
		return false;
	hit->layer = overlay.top_layer;
	hit->type = type;
	hit->kind = type == INDEX_WHITEOUT ? OV_WHITEOUT : OV_FOUND;
	if (type == INDEX_DIRECTORY) {
		hit->dir.in_top = true;
		merge_below_top(parent, path, &hit->dir);
	}
	return true;
}

static bool hit_in_parents(const struct ov_dir *parent, const char *path,
			   struct child_hit *hit)
{
	struct index_entry e;

	if (!parent_entry(parent, path, &e))
		return false;
	hit->layer = e.layer;
	hit->type = e.type;
	hit->kind = e.type == INDEX_WHITEOUT ? OV_WHITEOUT : OV_FOUND;
	hit->index_target = e.target;
	if (e.type == INDEX_DIRECTORY) {
		hit->dir.in_parents = true;
		hit->dir.parent_layer = e.layer;
		hit->dir.in_base = parent->in_base &&
				   !(e.flags & INDEX_FLAG_OPAQUE) &&
				   layer_type(0, path) == INDEX_DIRECTORY;
	}
	return true;
}

static bool hit_in_base(const struct ov_dir *parent, const char *path,
			struct child_hit *hit)
{
	uint8_t type = parent->in_base ? layer_type(0, path) : INDEX_EMPTY;

	if (type == INDEX_EMPTY)
		return false;
	hit->layer = 0;
	hit->type = type;
	hit->kind = type == INDEX_WHITEOUT ? OV_WHITEOUT : OV_FOUND;
	hit->dir.in_base = type == INDEX_DIRECTORY;
	return true;
}

/* Looks up the merged path (a child of parent) in the layers top-down. */
static void lookup_child(const struct ov_dir *parent, const char *path,
			 struct child_hit *hit)
{
	memset(hit, 0, sizeof(*hit));
	if (hit_in_top(parent, path, hit) || hit_in_parents(parent, path, hit) ||
	    hit_in_base(parent, path, hit))
		return;
	hit->kind = OV_ABSENT;
}

/*
 * Returns an O_PATH descriptor of the top layer's root directory, or -1
 * while it does not exist. The descriptor is kept for the rest of the
 * run, which saves one lstat per resolve. No call that the core performs
 * removes that root: rmdir of the merged "/" fails with EBUSY, its
 * rename with EXDEV because the base always has the root, and host paths
 * inside the top layer map to merged paths below it.
 */
static int top_root_fd(void)
{
	static int fd = -1;
	struct stat st;

	if (fd < 0 && lstat(overlay.upper, &st) == 0 && S_ISDIR(st.st_mode))
		fd = open(overlay.upper, O_PATH | O_DIRECTORY | O_NOFOLLOW |
						 O_CLOEXEC);
	return fd;
}

static bool top_root_exists(void)
{
	return top_root_fd() >= 0;
}

static struct ov_dir merged_root(void)
{
	return (struct ov_dir){
		.in_top = top_root_exists(),
		.in_parents = overlay.index.data && overlay.top_layer > 1,
		.parent_layer = (uint16_t)(overlay.top_layer - 1),
		.in_base = true,
	};
}

static uint32_t dir_layer(const struct ov_dir *dir)
{
	if (dir->in_top)
		return overlay.top_layer;
	return dir->in_parents ? dir->parent_layer : 0;
}

/* The walk's state: the merged directories from the root down and the
 * components still to resolve. */
struct walk {
	struct ov_dir chain[MAX_DEPTH];
	size_t ends[MAX_DEPTH]; /* length of path at each depth */
	size_t depth;
	char path[PATH_MAX];
	char pending[2 * PATH_MAX];
	size_t next; /* offset of the first pending byte */
	int symlinks;
	bool try_base_rest; /* false after a failed try, until a symlink */
	bool too_long; /* the last component taken was over NAME_MAX */
};

/* Takes the next component into name. Returns false at the end. */
static bool next_component(struct walk *w, char *name, size_t size)
{
	const char *p = w->pending + w->next;
	size_t len;

	while (*p == '/')
		p++;
	if (!*p)
		return false;
	len = strcspn(p, "/");
	/* The kernel fails there with ENAMETOOLONG; a cut name could match
	 * another file. */
	w->too_long = len > NAME_MAX;
	if (len >= size)
		len = size - 1;
	memcpy(name, p, len);
	name[len] = '\0';
	w->next = (size_t)(p + len - w->pending);
	return true;
}

static bool no_more_components(const struct walk *w)
{
	return w->pending[w->next + strspn(w->pending + w->next, "/")] == '\0';
}

/* Replaces the pending components with target + "/" + the rest. */
static int push_target(struct walk *w, const char *target)
{
	char rest[2 * PATH_MAX];
	int n;

	snprintf(rest, sizeof(rest), "%s", w->pending + w->next);
	n = snprintf(w->pending, sizeof(w->pending), "%s/%s", target, rest);
	if (n < 0 || (size_t)n >= sizeof(w->pending))
		return -ENAMETOOLONG;
	w->next = 0;
	w->try_base_rest = true;
	if (target[0] == '/')
		w->depth = 0;
	w->path[w->ends[w->depth]] = '\0';
	return 0;
}

static int read_target(const struct child_hit *hit, const char *path,
		       char *out, size_t size)
{
	char host[PATH_MAX];
	ssize_t n;

	if (hit->index_target) {
		snprintf(out, size, "%s", hit->index_target);
		return 0;
	}
	if (overlay_host_path(hit->layer, path, host, sizeof(host)) != 0)
		return -ENAMETOOLONG;
	n = readlink(host, out, size - 1);
	if (n < 0)
		return -errno;
	out[n] = '\0';
	return 0;
}

static int absent(struct ov_result *out, int err)
{
	out->kind = OV_ABSENT;
	out->err = err;
	return -err;
}

static int finish(struct ov_result *out, enum ov_kind kind, uint32_t layer,
		  uint8_t type, const char *path)
{
	out->kind = kind;
	out->err = 0;
	out->layer = layer;
	out->type = type;
	snprintf(out->path, sizeof(out->path), "%s", path);
	if (overlay_host_path(layer, path, out->host, sizeof(out->host)) != 0)
		return absent(out, ENAMETOOLONG);
	return 0;
}

/* Enters the child directory name of the current one. */
static int descend(struct walk *w, const char *name, const struct ov_dir *dir)
{
	size_t end = w->ends[w->depth];
	int n;

	if (w->depth + 1 >= MAX_DEPTH)
		return -ENAMETOOLONG;
	n = snprintf(w->path + end, sizeof(w->path) - end, "/%s", name);
	if (n < 0 || (size_t)n >= sizeof(w->path) - end)
		return -ENAMETOOLONG;
	w->depth++;
	w->chain[w->depth] = *dir;
	w->ends[w->depth] = end + (size_t)n;
	return 0;
}

static void child_path(const struct walk *w, const char *name, char *out,
		       size_t size)
{
	size_t end = w->ends[w->depth];

	snprintf(out, size, "%.*s/%s", (int)end, w->path, name);
}

/* ---- the rest of a path that only the base has ---- */

/* The base rest is tried only when it spans this many components: it
 * costs openat2, fstat and close, where the walk costs one lstat per
 * component. */
#define BASE_REST_MIN_COMPONENTS 3

/* The outcome of resolve_base_rest that sends the walk on component by
 * component. It differs from 1, the walk's "go on". */
#define BASE_REST_WALK 3

/*
 * Appends name and the pending components to the merged path of the
 * current directory, without "." and repeated slashes, into merged.
 * Returns the number of components, or 0 when the rest has ".." (it may
 * lead back into a directory that upper layers have), ends in "." (the
 * walk then follows the last symlink and expects a directory), has a
 * name longer than NAME_MAX, more components than the walk takes, or no
 * room.
 */
static size_t join_base_rest(const struct walk *w, const char *name,
			     char *merged, size_t size)
{
	const char *p = w->pending + w->next;
	size_t end = w->ends[w->depth], count = 1, len;
	int n = snprintf(merged, size, "%.*s/%s", (int)end, w->path, name);
	bool ends_in_dot = false;

	if (n < 0 || (size_t)n >= size)
		return 0;
	for (len = (size_t)n;; p += strcspn(p, "/")) {
		p += strspn(p, "/");
		n = (int)strcspn(p, "/");
		if (n == 0)
			break;
		ends_in_dot = n == 1 && p[0] == '.';
		if (ends_in_dot)
			continue;
		if ((n == 2 && p[0] == '.' && p[1] == '.') || n > NAME_MAX ||
		    len + 1 + (size_t)n >= size)
			return 0;
		merged[len++] = '/';
		memcpy(merged + len, p, (size_t)n);
		merged[len += (size_t)n] = '\0';
		count++;
	}
	return !ends_in_dot && w->depth + count < MAX_DEPTH ? count : 0;
}

/*
 * Looks up merged (a path without symlinks, "." or "..") in the base
 * with one openat2 that rejects every symlink, and stores the type of
 * the last component. Returns 0, -ENOENT, or BASE_REST_WALK for every
 * case that the walk must decide: a symlink (the kernel reports ELOOP),
 * ENOTDIR (a whiteout in the base reads as absent, not as a file),
 * EACCES, or a kernel without openat2.
 */
static int lookup_base_rest(const char *merged, uint8_t *type)
{
	struct open_how how = {
		.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS,
	};
	struct stat st;
	int fd, err;

	fd = (int)syscall(SYS_openat2, overlay.base_fd, merged + 1, &how,
			  sizeof(how));
	if (fd < 0) {
		err = errno;
		return err == ENOENT ? -ENOENT : BASE_REST_WALK;
	}
	err = fstat(fd, &st) == 0 ? 0 : errno;
	close(fd);
	if (err != 0)
		return BASE_REST_WALK;
	*type = type_of_mode(&st);
	return 0;
}

/*
 * Descends from the current directory through the first count - 1 of
 * name and the pending components, which the base lookup found to be
 * directories of the base alone, so that the walk follows the symlink of
 * the last component itself. Returns 1 to go on, or -errno.
 */
static int enter_base_parent(struct walk *w, const char *name, size_t count,
			     struct ov_result *out)
{
	const struct ov_dir base_only = { .in_base = true };
	char next[NAME_MAX + 1];
	int rc = descend(w, name, &base_only);

	for (size_t entered = 1; rc == 0 && entered + 1 < count;) {
		if (!next_component(w, next, sizeof(next)))
			break;
		if (w->too_long)
			return absent(out, ENAMETOOLONG);
		if (strcmp(next, ".") == 0)
			continue;
		rc = descend(w, next, &base_only);
		entered++;
	}
	return rc < 0 ? absent(out, -rc) : 1;
}

/*
 * Resolves name and every pending component in the base alone. The
 * caller has found that no upper layer has name: the top layer has no
 * entry, and the index has none, so it has none below either because it
 * lists every path of the parent layers. Nothing under name can then
 * come from an upper layer unless a symlink or ".." leads out of it, and
 * the base lookup rejects both. Returns 0 or -errno when out is final,
 * 1 when the walk has entered the parent of a last symlink, or
 * BASE_REST_WALK.
 */
static int resolve_base_rest(struct walk *w, const char *name,
			     bool follow_last, bool trailing_slash,
			     struct ov_result *out)
{
	static char merged[PATH_MAX];
	uint8_t type = INDEX_EMPTY;
	size_t count;
	int rc;

	if (!w->try_base_rest || overlay.base_fd < 0)
		return BASE_REST_WALK;
	count = join_base_rest(w, name, merged, sizeof(merged));
	if (count < BASE_REST_MIN_COMPONENTS)
		return BASE_REST_WALK;

	rc = lookup_base_rest(merged, &type);
	if (rc == -ENOENT)
		return absent(out, ENOENT);
	if (rc == 0 && type == INDEX_SYMLINK && follow_last)
		return enter_base_parent(w, name, count, out);
	/* The walk rejects a non-directory before a trailing slash, which
	 * is rare enough to leave to it. A shorter rest of the same path
	 * would end the same way, so it is not tried again. */
	if (rc != 0 || (trailing_slash && type != INDEX_DIRECTORY)) {
		w->try_base_rest = false;
		return BASE_REST_WALK;
	}

	if (type == INDEX_WHITEOUT)
		return finish(out, OV_WHITEOUT, 0, type, merged);
	rc = finish(out, OV_FOUND, 0, type, merged);
	if (type == INDEX_DIRECTORY)
		out->dir = (struct ov_dir){ .in_base = true };
	return rc;
}

/* The outcome of lookup_step that leaves the component to step. */
#define LOOKUP_HIT 2

/* Looks up name like lookup_child, but when no upper layer has it,
 * resolves the rest of the path in the base at once. Returns LOOKUP_HIT
 * when hit is filled, 1 when the walk has gone on past name, or 0 or
 * -errno when out is final. */
static int lookup_step(struct walk *w, const char *name, const char *path,
		       bool follow_last, bool trailing_slash,
		       struct child_hit *hit, struct ov_result *out)
{
	const struct ov_dir *parent = &w->chain[w->depth];
	int rc;

	memset(hit, 0, sizeof(*hit));
	if (hit_in_top(parent, path, hit) || hit_in_parents(parent, path, hit))
		return LOOKUP_HIT;
	if (parent->in_base) {
		rc = resolve_base_rest(w, name, follow_last, trailing_slash, out);
		if (rc != BASE_REST_WALK)
			return rc;
	}
	if (!hit_in_base(parent, path, hit))
		hit->kind = OV_ABSENT;
	return LOOKUP_HIT;
}

/* Handles one component. Returns 1 to go on, 0 when out is final, or
 * -errno. */
static int step(struct walk *w, const char *name, bool follow_last,
		bool trailing_slash, struct ov_result *out)
{
	char merged[PATH_MAX], target[PATH_MAX];
	bool last = no_more_components(w);
	struct child_hit hit;
	int rc;

	if (strcmp(name, ".") == 0)
		return 1;
	if (strcmp(name, "..") == 0) {
		if (w->depth > 0)
			w->depth--;
		w->path[w->ends[w->depth]] = '\0';
		return 1;
	}
	child_path(w, name, merged, sizeof(merged));
	rc = lookup_step(w, name, merged, follow_last, trailing_slash, &hit, out);
	if (rc != LOOKUP_HIT)
		return rc;
	if (hit.kind == OV_ABSENT)
		return absent(out, ENOENT);
	if (hit.kind == OV_WHITEOUT)
		return last ? finish(out, OV_WHITEOUT, hit.layer, INDEX_WHITEOUT, merged)
			    : absent(out, ENOENT);
	if (hit.type == INDEX_SYMLINK && (!last || follow_last)) {
		if (++w->symlinks > MAX_SYMLINKS)
			return absent(out, ELOOP);
		rc = read_target(&hit, merged, target, sizeof(target));
		if (rc == 0)
			rc = push_target(w, target);
		return rc < 0 ? absent(out, -rc) : 1;
	}
	if (hit.type != INDEX_DIRECTORY) {
		if (!last || trailing_slash)
			return absent(out, ENOTDIR);
		return finish(out, OV_FOUND, hit.layer, hit.type, merged);
	}
	rc = descend(w, name, &hit.dir);
	return rc < 0 ? absent(out, -rc) : 1;
}

/*
 * Resolves an absolute path on the merged view. Symlinks are followed on
 * the merged view: a relative target from the merged parent, an absolute
 * one from the merged root. ".." goes to the merged parent and stops at
 * "/". no_follow leaves a symlink in the last component unfollowed unless
 * the path ends in "/". Returns 0 for OV_FOUND and OV_WHITEOUT, or -errno
 * with out->kind OV_ABSENT.
 */
int overlay_resolve(const char *path, bool no_follow, struct ov_result *out)
{
	static struct walk w;
	size_t len = strlen(path);
	bool trailing_slash = len > 0 && path[len - 1] == '/';
	char name[NAME_MAX + 1];
	struct ov_dir *dir;
	int rc;

	if (path[0] != '/' || len >= sizeof(w.pending))
		return absent(out, path[0] != '/' ? EINVAL : ENAMETOOLONG);
	memcpy(w.pending, path, len + 1);
	w.next = 0;
	w.depth = 0;
	w.chain[0] = merged_root();
	w.ends[0] = 0;
	w.path[0] = '\0';
	w.symlinks = 0;
	w.try_base_rest = true;
	w.too_long = false;
	while (next_component(&w, name, sizeof(name))) {
		if (w.too_long)
			return absent(out, ENAMETOOLONG);
		rc = step(&w, name, !no_follow || trailing_slash, trailing_slash, out);
		if (rc <= 0)
			return rc;
	}
	dir = &w.chain[w.depth];
	if (!dir->in_top && !dir->in_parents && !dir->in_base)
		return absent(out, ENOENT);
	rc = finish(out, OV_FOUND, dir_layer(dir), INDEX_DIRECTORY,
		    w.depth == 0 ? "/" : w.path);
	out->dir = *dir;
	return rc;
}

/* ---- merged listings ---- */

struct names {
	char **items;
	size_t count;
	size_t cap;
};

static void add_names_of(struct names *names, uint32_t layer, const char *path)
{
	char host[PATH_MAX];
	struct dirent *d;
	DIR *dir;

	if (overlay_host_path(layer, path, host, sizeof(host)) != 0)
		return;
	dir = opendir(host);
	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (names->count == names->cap) {
			names->cap = names->cap ? 2 * names->cap : 64;
			names->items = realloc(names->items, names->cap * sizeof(char *));
			if (!names->items)
				abort();
		}
		names->items[names->count++] = strdup(d->d_name);
	}
	closedir(dir);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Calls fn for each name of the merged directory at path, sorted by
 * bytes, with the type and layer of its topmost copy; whited-out names
 * are left out. The candidates are the names of every layer that takes
 * part in the merge, and lookup_child decides which of them is visible.
 * Returns 0 or -errno (ENOENT, ENOTDIR, ELOOP).
 */
int overlay_readdir(const char *path, ov_entry_fn fn, void *context)
{
	static struct ov_result r;
	struct names names = { 0 };
	char child[PATH_MAX];
	struct child_hit hit;
	int n, rc = overlay_resolve(path, false, &r);

	if (rc != 0)
		return rc;
	if (r.kind != OV_FOUND)
		return -ENOENT;
	if (r.type != INDEX_DIRECTORY)
		return -ENOTDIR;
	if (r.dir.in_top)
		add_names_of(&names, overlay.top_layer, r.path);
	for (uint32_t layer = r.dir.parent_layer; r.dir.in_parents && layer > 0; layer--)
		add_names_of(&names, layer, r.path);
	if (r.dir.in_base)
		add_names_of(&names, 0, r.path);
	qsort(names.items, names.count, sizeof(char *), compare_names);
	for (size_t i = 0; i < names.count; i++) {
		if (i > 0 && strcmp(names.items[i], names.items[i - 1]) == 0)
			continue;
		n = snprintf(child, sizeof(child), "%s/%s",
			     strcmp(r.path, "/") == 0 ? "" : r.path, names.items[i]);
		if (n < 0 || (size_t)n >= sizeof(child))
			continue;
		lookup_child(&r.dir, child, &hit);
		if (hit.kind == OV_FOUND)
			fn(names.items[i], hit.type, hit.layer, context);
	}
	for (size_t i = 0; i < names.count; i++)
		free(names.items[i]);
	free(names.items);
	return 0;
}

/* ---- changes in the top layer ---- */

static void copy_times(int dirfd, const char *name, const struct stat *st,
		       int at_flags)
{
	struct timespec times[2] = { st->st_atim, st->st_mtim };

	utimensat(dirfd, name, times, at_flags);
}

/* Copies bytes [offset, end) of in to the same offsets of out. */
static int copy_range(int in, int out, off_t offset, off_t end)
{
	char buf[65536];
	off_t from = offset, to = offset;
	ssize_t n;

	/* copy_file_range shares extents where the filesystem can. */
	while (from < end) {
		n = copy_file_range(in, &from, out, &to, (size_t)(end - from), 0);
		if (n <= 0)
			break;
	}
	while (from < end) {
		size_t want = end - from < (off_t)sizeof(buf) ? (size_t)(end - from) : sizeof(buf);

		n = pread(in, buf, want, from);
		if (n <= 0)
			return n < 0 ? -errno : 0;
		if (pwrite(out, buf, (size_t)n, from) != n)
			return -EIO;
		from += n;
	}
	return 0;
}

/*
 * Copies the contents of the open file in to out, which is empty, data
 * segment by data segment, so that holes stay holes: copy_file_range
 * alone writes the zeros of a hole on filesystems without reflinks. A
 * filesystem without SEEK_DATA reports the whole file as one segment.
 */
static int copy_contents(int in, int out, off_t size)
{
	off_t data = 0, hole;
	int rc;

	while (data < size) {
		data = lseek(in, data, SEEK_DATA);
		if (data < 0)
			break; /* ENXIO: only a hole is left */
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0 || hole > size)
			hole = size;
		rc = copy_range(in, out, data, hole);
		if (rc != 0)
			return rc;
		data = hole;
	}
	return ftruncate(out, size) == 0 ? 0 : -errno;
}

/*
 * Gives a copy the owner of the lower file (the fd, or the path with
 * at_flags). Only root may give a file away, so an ordinary user's
 * copies stay theirs and the failure is ignored, as cp -p does.
 */
static void keep_owner(int fd, const char *path, const struct stat *st,
		       int at_flags)
{
	if (st->st_uid == geteuid() && st->st_gid == getegid())
		return;
	if (path)
		(void)!fchownat(AT_FDCWD, path, st->st_uid, st->st_gid, at_flags);
	else
		(void)!fchown(fd, st->st_uid, st->st_gid);
}

static int copy_file(const char *from, const char *to, const struct stat *st)
{
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	int in, out, rc;

	in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	rc = copy_contents(in, out, st->st_size);
	/* The owner first: chown clears the set-user-ID and set-group-ID
	 * bits that fchmod then restores. */
	if (rc == 0)
		keep_owner(out, NULL, st, 0);
	if (rc == 0 && (fchmod(out, st->st_mode & 07777) != 0 ||
			futimens(out, times) != 0))
		rc = -errno;
	close(out);
	close(in);
	if (rc != 0)
		unlink(to);
	return rc;
}

static int copy_symlink(const char *from, const char *to, const struct stat *st)
{
	char target[PATH_MAX];
	ssize_t n = readlink(from, target, sizeof(target) - 1);

	if (n < 0)
		return -errno;
	target[n] = '\0';
	if (symlink(target, to) != 0)
		return -errno;
	keep_owner(-1, to, st, AT_SYMLINK_NOFOLLOW);
	copy_times(AT_FDCWD, to, st, AT_SYMLINK_NOFOLLOW);
	return 0;
}

/* Creates the directory `to` with the mode and times of `from`. */
static int copy_directory(const char *to, const struct stat *st)
{
	if (mkdir(to, st->st_mode & 07777) != 0)
		return -errno;
	/* mkdir applies the core's umask; the copy keeps the lower mode.
	 * NOTE: a lower directory without write permission (0555) keeps
	 * that mode, so a core that is not root cannot then create the
	 * copies of its entries. */
	keep_owner(-1, to, st, 0);
	chmod(to, st->st_mode & 07777);
	copy_times(AT_FDCWD, to, st, 0);
	return 0;
}

/* Copies the object at host (a lower layer) to path in the top layer. */
static int copy_object(const char *host, const char *path)
{
	char to[PATH_MAX];
	struct stat st;
	int rc = overlay_host_path(overlay.top_layer, path, to, sizeof(to));

	if (rc != 0)
		return rc;
	if (lstat(host, &st) != 0)
		return -errno;
	if (S_ISREG(st.st_mode))
		return copy_file(host, to, &st);
	if (S_ISLNK(st.st_mode))
		return copy_symlink(host, to, &st);
	if (S_ISDIR(st.st_mode))
		return copy_directory(to, &st);
	if (S_ISFIFO(st.st_mode))
		return mkfifo(to, st.st_mode & 07777) == 0 ? 0 : -errno;
	/* Devices and sockets cannot be recreated by an ordinary user. */
	return -EOPNOTSUPP;
}

/*
 * Makes sure every ancestor directory of the merged path exists in the
 * top layer, copying each missing one (mode and times) from the layer
 * that the merged view shows. path must be a merged path after symlinks,
 * as overlay_resolve returns it. Returns 0 or -errno.
 */
int overlay_make_parents(const char *path)
{
	static struct ov_result r;
	char prefix[PATH_MAX];
	size_t len = strlen(path);
	int rc;

	if (len >= sizeof(prefix))
		return -ENAMETOOLONG;
	if (!top_root_exists() &&
	    mkdir(overlay.upper, 0755) != 0 && errno != EEXIST)
		return -errno;
	for (size_t i = 1; i < len; i++) {
		if (path[i] != '/')
			continue;
		memcpy(prefix, path, i);
		prefix[i] = '\0';
		if (layer_type(overlay.top_layer, prefix) == INDEX_DIRECTORY)
			continue;
		rc = overlay_resolve(prefix, true, &r);
		if (rc != 0 || r.kind != OV_FOUND || r.type != INDEX_DIRECTORY)
			return rc != 0 ? rc : -ENOTDIR;
		rc = copy_object(r.host, prefix);
		if (rc != 0 && rc != -EEXIST)
			return rc;
	}
	return 0;
}

/*
 * Copies a resolved file, symlink or directory up into the top layer,
 * with its ancestors, keeping mode and times. A directory is copied
 * without its entries: the merge below it still shows them. Returns 0
 * (also when r is in the top layer already) or -errno.
 */
int overlay_copy_up(const struct ov_result *r)
{
	int rc;

	if (r->kind != OV_FOUND)
		return -ENOENT;
	if (r->layer == overlay.top_layer)
		return 0;
	rc = overlay_make_parents(r->path);
	return rc != 0 ? rc : copy_object(r->host, r->path);
}

/*
 * Records the deletion of the merged path in the top layer: a character
 * device 0/0 with its name. Linux 5.8 and later let an ordinary user
 * create exactly this device, for overlayfs whiteouts. The top layer must
 * not have the name already. Returns 0 or -errno.
 */
int overlay_whiteout(const char *path)
{
	char host[PATH_MAX];
	int rc = overlay_make_parents(path);

	if (rc == 0)
		rc = overlay_host_path(overlay.top_layer, path, host, sizeof(host));
	if (rc != 0)
		return rc;
	return mknod(host, S_IFCHR | 0600, makedev(0, 0)) == 0 ? 0 : -errno;
}

/* Strips root from host when host is root or below it. */
static bool strip_root(const char *root, const char *host, char *out,
		       size_t size)
{
	size_t len = strlen(root);

	if (strcmp(root, "/") == 0 || strncmp(host, root, len) != 0 ||
	    (host[len] != '\0' && host[len] != '/'))
		return false;
	snprintf(out, size, "%s", host[len] ? host + len : "/");
	return true;
}

/* Returns the number of the parent layer whose root contains the host
 * path, or -1 for the top layer, the base and anything else. */
int overlay_parent_layer_of(const char *host)
{
	char merged[PATH_MAX];

	if (strip_root(overlay.upper, host, merged, sizeof(merged)))
		return -1;
	for (uint32_t layer = overlay.top_layer - 1; layer > 0; layer--)
		if (strip_root(overlay_layer_root(layer), host, merged, sizeof(merged)))
			return (int)layer;
	return -1;
}

/*
 * Maps a host path inside the top layer or a parent layer back to the
 * merged path that it stands for. Returns false when host is in none of
 * them; with the real root as the base such a path is its own merged
 * path.
 */
bool overlay_virtual_path(const char *host, char *out, size_t size)
{
	if (strip_root(overlay.upper, host, out, size))
		return true;
	for (uint32_t layer = overlay.top_layer - 1; layer > 0; layer--)
		if (strip_root(overlay_layer_root(layer), host, out, size))
			return true;
	return strcmp(overlay.base, "/") != 0 &&
	       strip_root(overlay.base, host, out, size);
}
