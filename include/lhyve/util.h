/* Small helpers shared by every subsystem. */
#ifndef LHYVE_UTIL_H
#define LHYVE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))
#define UNUSED __attribute__((unused))

/* Monotonic clock in nanoseconds. */
static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Unaligned little-endian accessors (x86 hosts, but keep intent explicit). */
static inline uint16_t get_le16(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t get_le32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t get_le64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void put_le16(void *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void put_le32(void *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void put_le64(void *p, uint64_t v) { memcpy(p, &v, 8); }

/* Sum of bytes, for ACPI/MP/SMBIOS checksums: store (uint8_t)-sum. */
static inline uint8_t byte_sum(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *b++);
	return s;
}

#endif
