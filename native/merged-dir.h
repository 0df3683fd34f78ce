/*
 * Synthetic directories that the tracee lists in place of merged
 * directories of the layers (--upper).
 */
#ifndef UWRX_MERGED_DIR_H
#define UWRX_MERGED_DIR_H

#include <stdbool.h>
#include <stddef.h>

int merged_dir_setup(const char *buffer_dir);
int merged_dir_open(const char *path, char *out, size_t size);
bool merged_dir_virtual_path(const char *host, char *out, size_t size);
void merged_dir_cleanup(void);
bool layered_virtual_path(const char *host, char *out, size_t size);

#endif
