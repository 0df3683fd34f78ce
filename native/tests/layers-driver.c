/*
 * Test driver for native/layer-index.c and native/overlay.c: opens the
 * index given as the first argument, with the writable layer given as
 * the second, and prints the result of one request per line of stdin.
 *
 *   layers          one line per layer: "LAYER TIME_NS PATH"
 *   lookup PATH     "absent", or "TYPE LAYER FLAGS TARGET" with the type
 *                   code of the slot and the symlink target ("" if none)
 *   resolve PATH    "found LAYER TYPE PATH", "whiteout LAYER PATH" or
 *                   "absent ERRNO-NAME"; lresolve does not follow a
 *                   symlink in the last component
 *   readdir PATH    one "NAME TYPE LAYER" line per entry, or "error NAME"
 *   copyup PATH     copies the unfollowed PATH into the writable layer
 *   whiteout PATH   records the deletion of PATH in the writable layer
 *                   (both print "ok" or "error NAME")
 *   virtual HOST    the merged path of a host path, or "none"
 *
 * Every answer ends with a line "end".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../layer-index.h"
#include "../overlay.h"

static const char *const type_names[] = { "empty", "file", "directory", "symlink", "whiteout", "other" };

static const char *errno_name(int err)
{
	switch (err) {
	case ENOENT:
		return "ENOENT";
	case ENOTDIR:
		return "ENOTDIR";
	case ELOOP:
		return "ELOOP";
	case EEXIST:
		return "EEXIST";
	default:
		return strerror(err);
	}
}

static void answer_resolve(const char *path, bool no_follow)
{
	static struct ov_result r;

	overlay_resolve(path, no_follow, &r);
	if (r.kind == OV_FOUND)
		printf("found %u %s %s\n", r.layer, type_names[r.type], r.path);
	else if (r.kind == OV_WHITEOUT)
		printf("whiteout %u %s\n", r.layer, r.path);
	else
		printf("absent %s\n", errno_name(r.err));
}

static void print_entry(const char *name, uint8_t type, uint32_t layer, void *context)
{
	(void)context;
	printf("%s %s %u\n", name, type_names[type], layer);
}

static void answer_readdir(const char *path)
{
	int rc = overlay_readdir(path, print_entry, NULL);

	if (rc < 0)
		printf("error %s\n", errno_name(-rc));
}

static void answer_layers(const struct layer_index *ix)
{
	for (uint32_t i = 0; i < ix->layer_count; i++)
		printf("%u %llu %s\n", i,
		       (unsigned long long)layer_index_layer_time(ix, i),
		       layer_index_layer_path(ix, i));
}

static void answer_lookup(const struct layer_index *ix, const char *path)
{
	struct index_entry e;

	if (!layer_index_lookup(ix, path, strlen(path), &e)) {
		printf("absent\n");
		return;
	}
	printf("%u %u %u %s\n", e.type, e.layer, e.flags, e.target);
}

static void answer_change(const char *path, bool copy)
{
	static struct ov_result r;
	int rc;

	if (copy) {
		rc = overlay_resolve(path, true, &r);
		if (rc == 0)
			rc = overlay_copy_up(&r);
	} else {
		rc = overlay_whiteout(path);
	}
	if (rc < 0)
		printf("error %s\n", errno_name(-rc));
	else
		printf("ok\n");
}

static void answer_virtual(const char *host)
{
	char path[PATH_MAX];

	if (overlay_virtual_path(host, path, sizeof(path)))
		printf("%s\n", path);
	else
		printf("none\n");
}

int main(int argc, char **argv)
{
	struct layer_index ix;
	char error[256], line[8192];

	if (argc != 3) {
		fprintf(stderr, "usage: layers-driver INDEX UPPER\n");
		return 2;
	}
	if (layer_index_open(argv[1], &ix, error, sizeof(error)) != 0 ||
	    overlay_setup(argv[2], argv[1], error, sizeof(error)) != 0) {
		fprintf(stderr, "layers-driver: %s: %s\n", argv[1], error);
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, "layers") == 0)
			answer_layers(&ix);
		else if (strncmp(line, "lookup ", 7) == 0)
			answer_lookup(&ix, line + 7);
		else if (strncmp(line, "resolve ", 8) == 0)
			answer_resolve(line + 8, false);
		else if (strncmp(line, "lresolve ", 9) == 0)
			answer_resolve(line + 9, true);
		else if (strncmp(line, "readdir ", 8) == 0)
			answer_readdir(line + 8);
		else if (strncmp(line, "copyup ", 7) == 0)
			answer_change(line + 7, true);
		else if (strncmp(line, "whiteout ", 9) == 0)
			answer_change(line + 9, false);
		else if (strncmp(line, "virtual ", 8) == 0)
			answer_virtual(line + 8);
		else
			printf("unknown request\n");
		printf("end\n");
	}
	layer_index_close(&ix);
	return 0;
}
