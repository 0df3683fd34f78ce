/* Prefixed diagnostics on stderr and allocation helpers that never fail. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

bool log_verbose;

static void log_line(const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "uwrx-core: %s\n", line);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_line(fmt, ap);
	va_end(ap);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_line(fmt, ap);
	va_end(ap);
	exit(CORE_EXIT_FAILURE);
}

void *xrealloc(void *ptr, size_t size)
{
	void *out = realloc(ptr, size ? size : 1);

	if (!out)
		die("out of memory allocating %zu bytes", size);
	return out;
}

void *xmalloc(size_t size)
{
	return xrealloc(NULL, size);
}

char *xstrdup(const char *s)
{
	size_t len = strlen(s) + 1;

	return memcpy(xmalloc(len), s, len);
}
