/* SPDX-License-Identifier: MIT */
/* Little-endian serialization into arena memory (x86_64 is little-endian; memcpy keeps the
 * unaligned stores defined). */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "arena.h"
#include "buf.h"
#include "mapprof/dump_format.h"

/* Address space set aside at start for one dump buffer (mapped, not touched: no memory until a
 * dump uses it): a program that ran into its RLIMIT_AS (allocating until malloc fails, in exact
 * mode above all) lost its final dump of a few kilobytes, no mapping being left for it. Taken
 * when the arena has none, by one buffer at a time. */
#define SPARE_SIZE (256u << 10)
static uint8_t *spare;
static int spare_taken;

void mp_buf_init(void)
{
	int e = errno;
	void *p = mmap(NULL, SPARE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	errno = e;
	spare = p == MAP_FAILED ? NULL : p;
}

static uint8_t *take_spare(size_t size)
{
	if (!spare || size > SPARE_SIZE || __atomic_exchange_n(&spare_taken, 1, __ATOMIC_ACQUIRE))
		return NULL;
	return spare;
}

static void free_data(uint8_t *p, size_t cap)
{
	if (p && p == spare)
		__atomic_store_n(&spare_taken, 0, __ATOMIC_RELEASE);
	else
		mp_arena_free(p, cap);
}

static bool reserve(struct mp_buf *b, size_t n)
{
	if (b->failed)
		return false;
	if (b->len + n <= b->cap)
		return true;
	size_t ncap = b->cap ? b->cap : 65536;
	while (ncap < b->len + n)
		ncap *= 2;
	uint8_t *d = mp_arena_alloc_dump(ncap) /* past the cap: arena.c */;
	if (!d && (d = take_spare(ncap)) != NULL)
		ncap = SPARE_SIZE;
	if (!d) {
		b->failed = true;
		return false;
	}
	if (b->data) {
		memcpy(d, b->data, b->len);
		free_data(b->data, b->cap);
	}
	b->data = d;
	b->cap = ncap;
	return true;
}

void mp_buf_put(struct mp_buf *b, const void *p, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void mp_buf_u16(struct mp_buf *b, uint16_t v)
{
	mp_buf_put(b, &v, 2);
}

void mp_buf_u32(struct mp_buf *b, uint32_t v)
{
	mp_buf_put(b, &v, 4);
}

void mp_buf_u64(struct mp_buf *b, uint64_t v)
{
	mp_buf_put(b, &v, 8);
}

void mp_buf_str(struct mp_buf *b, const char *s, size_t n)
{
	if (n > MP_MAX_STRING)
		n = MP_MAX_STRING;
	mp_buf_u32(b, (uint32_t)n);
	mp_buf_put(b, s, n);
}

size_t mp_buf_section_begin(struct mp_buf *b, uint32_t type)
{
	mp_buf_u32(b, type);
	mp_buf_u32(b, 0);
	size_t at = b->len;
	mp_buf_u64(b, 0);
	return at;
}

void mp_buf_section_end(struct mp_buf *b, size_t at)
{
	if (b->failed)
		return;
	uint64_t len = b->len - at - 8;
	memcpy(b->data + at, &len, 8);
}

size_t mp_buf_u32_later(struct mp_buf *b)
{
	size_t at = b->len;
	mp_buf_u32(b, 0);
	return at;
}

void mp_buf_u32_at(struct mp_buf *b, size_t at, uint32_t v)
{
	if (!b->failed)
		memcpy(b->data + at, &v, 4);
}

void mp_buf_release(struct mp_buf *b)
{
	free_data(b->data, b->cap);
	b->data = NULL;
	b->len = b->cap = 0;
}
