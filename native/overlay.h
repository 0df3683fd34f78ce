/*
 * The layered filesystem of a run: the writable top layer (--upper), the
 * parent layers (--layer-index) and the base. Paths are resolved on the
 * merged view by the rules of @uwrx/overlay. Depends on libc only.
 */
#ifndef UWRX_OVERLAY_H
#define UWRX_OVERLAY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "layer-index.h"

/* A directory of the merged view: which layers take part in its merge. */
struct ov_dir {
	bool in_top;
	bool in_parents;       /* parent layers up to parent_layer */
	uint16_t parent_layer; /* topmost parent layer with the directory */
	bool in_base;
};

enum ov_kind { OV_ABSENT, OV_FOUND, OV_WHITEOUT };

struct ov_result {
	enum ov_kind kind;
	int err;       /* OV_ABSENT: ENOENT, ENOTDIR, ELOOP or ENAMETOOLONG */
	uint32_t layer;
	uint8_t type;  /* an enum index_type value */
	struct ov_dir dir; /* when type is INDEX_DIRECTORY */
	char path[PATH_MAX]; /* merged path after symlinks */
	char host[PATH_MAX]; /* the file in its layer */
};

struct overlay {
	bool enabled; /* --upper was given */
	char upper[PATH_MAX];
	char base[PATH_MAX];
	struct layer_index index; /* data is NULL without parent layers */
	uint32_t top_layer;       /* n + 1 */
	int base_fd; /* O_PATH descriptor of base, or -1 */
};

extern struct overlay overlay;

int overlay_setup(const char *upper, const char *index_file, char *error,
		  size_t error_size);
const char *overlay_layer_root(uint32_t layer);
int overlay_host_path(uint32_t layer, const char *path, char *out,
		      size_t size);
int overlay_resolve(const char *path, bool no_follow, struct ov_result *out);

typedef void (*ov_entry_fn)(const char *name, uint8_t type, uint32_t layer,
			    void *context);
int overlay_readdir(const char *path, ov_entry_fn fn, void *context);

int overlay_copy_up(const struct ov_result *r);
int overlay_make_parents(const char *path);
int overlay_whiteout(const char *path);
bool overlay_virtual_path(const char *host, char *out, size_t size);
int overlay_parent_layer_of(const char *host);

#endif
