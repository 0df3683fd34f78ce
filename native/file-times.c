/*
 * Deterministic file timestamps (--seed). The run sees the layer model
 * of the layered filesystem: with layer interval I and n parent layers,
 * T0 = S - (n + 2) * I, where S is the virtual start time. Files that
 * this run modified report T0 + (n + 1) * I + seq nanoseconds, seq being
 * the order in which the core handled the modifying calls. Every other
 * file reports each of its times clamped to T0, as SOURCE_DATE_EPOCH
 * clamping does. All file times stay below S, so no process, whose clock
 * starts at S and only moves forward, sees a file from the future.
 * With --upper, a file found in parent layer i reports T0 + i * I, and
 * files of the base and of this run's layer follow the rules above.
 * TODO: symlink, link, truncate and the fd calls fchmod, fchown and
 * ftruncate are not marked as modifications (without --upper they reach
 * the kernel without a notification), and the kernel performs openat2,
 * so the files they change keep clamped times.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "core.h"
#include "determinism.h"

#define NS_PER_SEC 1000000000ull
#define INITIAL_SLOTS 1024u

struct modified_inode {
	uint64_t dev;
	uint64_t ino;
	uint64_t seq; /* 0 marks an empty slot */
};

/* Open addressing with linear probing; the table is at most half full. */
static struct modified_inode *slots;
static size_t slot_count;
static size_t used_count;
static uint64_t last_seq;

static int64_t t0_ns;       /* base layer time T0 */
static int64_t written_ns;  /* T0 + (n + 1) * I: this run's layer */

/* Computes T0 from the options. Exits with status 125 when S is too
 * small for the layers below it. */
void file_times_start(void)
{
	uint64_t layers = determinism.parent_layers + 2;
	uint64_t below;

	if (determinism.layer_interval_ns != 0 &&
	    layers > UINT64_MAX / determinism.layer_interval_ns)
		die("invalid --layer-interval-ns %llu with --parent-layers %llu: the layers span more than 2^64 ns",
		    (unsigned long long)determinism.layer_interval_ns,
		    (unsigned long long)determinism.parent_layers);
	below = layers * determinism.layer_interval_ns;
	if (below > determinism.start_time_ns || determinism.start_time_ns > INT64_MAX)
		die("invalid --start-time-ns %llu: expected at least (parent layers + 2) * layer interval = %llu ns and at most 2^63 - 1",
		    (unsigned long long)determinism.start_time_ns,
		    (unsigned long long)below);
	t0_ns = (int64_t)(determinism.start_time_ns - below);
	written_ns = t0_ns + (int64_t)((determinism.parent_layers + 1) *
				       determinism.layer_interval_ns);
}

/* ---- the table of inodes this run modified ---- */

static size_t slot_of(uint64_t dev, uint64_t ino)
{
	uint64_t h = ino * 0x9e3779b97f4a7c15ull ^ dev;

	/* The finalizer of splitmix64 spreads neighbouring inode numbers. */
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	h ^= h >> 31;
	return (size_t)h & (slot_count - 1);
}

static struct modified_inode *find_slot(uint64_t dev, uint64_t ino)
{
	size_t i = slot_of(dev, ino);

	while (slots[i].seq != 0 && (slots[i].dev != dev || slots[i].ino != ino))
		i = (i + 1) & (slot_count - 1);
	return &slots[i];
}

static void grow_table(void)
{
	struct modified_inode *old = slots;
	size_t old_count = slot_count;

	slot_count = old_count ? old_count * 2 : INITIAL_SLOTS;
	slots = xmalloc(slot_count * sizeof(*slots));
	memset(slots, 0, slot_count * sizeof(*slots));
	for (size_t i = 0; i < old_count; i++)
		if (old[i].seq != 0)
			*find_slot(old[i].dev, old[i].ino) = old[i];
	free(old);
}

/* Deletes slot i and moves later entries of its probe run back, so that
 * lookups never stop at the hole (deletion without tombstones). */
static void delete_slot(size_t i)
{
	size_t j = i;

	slots[i].seq = 0;
	for (;;) {
		size_t home;

		j = (j + 1) & (slot_count - 1);
		if (slots[j].seq == 0)
			return;
		home = slot_of(slots[j].dev, slots[j].ino);
		/* Entry j stays when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		slots[i] = slots[j];
		slots[j].seq = 0;
		i = j;
	}
}

static void mark_modified(uint64_t dev, uint64_t ino)
{
	struct modified_inode *slot;

	if (2 * (used_count + 1) > slot_count)
		grow_table();
	slot = find_slot(dev, ino);
	if (slot->seq == 0)
		used_count++;
	*slot = (struct modified_inode){ dev, ino, ++last_seq };
}

static void forget_modified(uint64_t dev, uint64_t ino)
{
	struct modified_inode *slot;

	if (used_count == 0)
		return;
	slot = find_slot(dev, ino);
	if (slot->seq == 0)
		return;
	delete_slot((size_t)(slot - slots));
	used_count--;
}

static uint64_t modified_seq(uint64_t dev, uint64_t ino)
{
	return used_count ? find_slot(dev, ino)->seq : 0;
}

void det_file_modified(const struct stat *st)
{
	if (determinism.enabled)
		mark_modified((uint64_t)st->st_dev, (uint64_t)st->st_ino);
}

/* Records the change of the file at dirfd/path. A file that is gone
 * already (another process removed it) has nothing to record. */
void det_path_modified(int dirfd, const char *path, int at_flags)
{
	struct stat st;

	if (determinism.enabled && fstatat(dirfd, path, &st, at_flags) == 0)
		det_file_modified(&st);
}

/* Records that the program set the file's times itself (touch -d, cp -p,
 * tar extracting), so that stat reports them as they are. */
void det_file_times_set(const struct stat *st)
{
	if (determinism.enabled)
		forget_modified((uint64_t)st->st_dev, (uint64_t)st->st_ino);
}

/* ---- rewriting stat results ---- */

static int64_t modified_time_ns(uint64_t seq)
{
	/* NOTE: after I (1 s: 10^9 by default) modifications the times reach
	 * S. */
	return written_ns + (int64_t)seq;
}

static struct timespec timespec_of(int64_t ns)
{
	return (struct timespec){ .tv_sec = (time_t)(ns / (int64_t)NS_PER_SEC),
				  .tv_nsec = (long)(ns % (int64_t)NS_PER_SEC) };
}

/* Compares as (seconds, nanoseconds), which cannot overflow for times
 * that do not fit in int64 nanoseconds. */
static void clamp_timespec(struct timespec *ts)
{
	struct timespec t0 = timespec_of(t0_ns);

	if (ts->tv_sec > t0.tv_sec ||
	    (ts->tv_sec == t0.tv_sec && ts->tv_nsec > t0.tv_nsec))
		*ts = t0;
}

static void clamp_statx_timestamp(struct statx_timestamp *ts)
{
	struct timespec t0 = timespec_of(t0_ns);

	if (ts->tv_sec > (int64_t)t0.tv_sec ||
	    (ts->tv_sec == (int64_t)t0.tv_sec && ts->tv_nsec > (uint32_t)t0.tv_nsec)) {
		ts->tv_sec = (int64_t)t0.tv_sec;
		ts->tv_nsec = (uint32_t)t0.tv_nsec;
	}
}

void det_fix_stat_times(struct stat *st)
{
	uint64_t seq;

	if (!determinism.enabled)
		return;
	seq = modified_seq((uint64_t)st->st_dev, (uint64_t)st->st_ino);
	if (seq == 0) {
		clamp_timespec(&st->st_atim);
		clamp_timespec(&st->st_mtim);
		clamp_timespec(&st->st_ctim);
		return;
	}
	st->st_atim = timespec_of(modified_time_ns(seq));
	st->st_mtim = st->st_atim;
	st->st_ctim = st->st_atim;
}

void det_fix_statx_times(struct statx *stx)
{
	dev_t dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	struct statx_timestamp modified;
	struct timespec ts;
	uint64_t seq;

	if (!determinism.enabled)
		return;
	/* Fields outside stx_mask are zero and stay so. */
	seq = (stx->stx_mask & STATX_INO) ? modified_seq((uint64_t)dev, stx->stx_ino) : 0;
	if (seq == 0) {
		clamp_statx_timestamp(&stx->stx_atime);
		clamp_statx_timestamp(&stx->stx_mtime);
		clamp_statx_timestamp(&stx->stx_ctime);
		clamp_statx_timestamp(&stx->stx_btime);
		return;
	}
	ts = timespec_of(modified_time_ns(seq));
	modified = (struct statx_timestamp){ .tv_sec = (int64_t)ts.tv_sec,
					     .tv_nsec = (uint32_t)ts.tv_nsec };
	if (stx->stx_mask & STATX_ATIME)
		stx->stx_atime = modified;
	if (stx->stx_mask & STATX_MTIME)
		stx->stx_mtime = modified;
	if (stx->stx_mask & STATX_CTIME)
		stx->stx_ctime = modified;
	if (stx->stx_mask & STATX_BTIME)
		stx->stx_btime = modified;
}

/* Returns true for a parent layer (1..n), whose files all report the
 * layer's time T0 + i * I. */
int64_t det_base_time_ns(void)
{
	return t0_ns;
}

static bool is_parent_layer(int layer)
{
	return layer >= 1 && (uint64_t)layer <= determinism.parent_layers;
}

static int64_t layer_time_ns(int layer)
{
	return t0_ns + (int64_t)((uint64_t)layer * determinism.layer_interval_ns);
}

/* Rewrites the times of a file found in layer (-1 outside the layers). */
void det_fix_layer_stat_times(struct stat *st, int layer)
{
	if (!determinism.enabled)
		return;
	if (!is_parent_layer(layer)) {
		det_fix_stat_times(st);
		return;
	}
	st->st_atim = timespec_of(layer_time_ns(layer));
	st->st_mtim = st->st_atim;
	st->st_ctim = st->st_atim;
}

void det_fix_layer_statx_times(struct statx *stx, int layer)
{
	struct statx_timestamp stamp;
	struct timespec ts;

	if (!determinism.enabled)
		return;
	if (!is_parent_layer(layer)) {
		det_fix_statx_times(stx);
		return;
	}
	ts = timespec_of(layer_time_ns(layer));
	stamp = (struct statx_timestamp){ .tv_sec = (int64_t)ts.tv_sec,
					  .tv_nsec = (uint32_t)ts.tv_nsec };
	if (stx->stx_mask & STATX_ATIME)
		stx->stx_atime = stamp;
	if (stx->stx_mask & STATX_MTIME)
		stx->stx_mtime = stamp;
	if (stx->stx_mask & STATX_CTIME)
		stx->stx_ctime = stamp;
	if (stx->stx_mask & STATX_BTIME)
		stx->stx_btime = stamp;
}
