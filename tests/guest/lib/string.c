/* Freestanding string helpers and command-line access. */
#include "rt.h"

void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;

	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	uint8_t *dp = d;
	const uint8_t *sp = s;

	if (dp < sp)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return (uint8_t)*a - (uint8_t)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (uint8_t)*a - (uint8_t)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

void rt_copy_cmdline(uintptr_t pa)
{
	struct rt *rt = rt_state();
	const char *s = (const char *)pa;
	size_t i = 0;

	if (pa)
		for (; i < RT_CMDLINE_MAX - 1 && s[i]; i++)
			rt->cmdline[i] = s[i];
	rt->cmdline[i] = 0;
}

int cmdline_get(const char *key, char *buf, size_t len)
{
	const char *p = rt_state()->cmdline;
	size_t klen = strlen(key);

	while (*p) {
		while (*p == ' ')
			p++;
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			size_t i = 0;

			p += klen + 1;
			while (*p && *p != ' ' && i + 1 < len)
				buf[i++] = *p++;
			if (len)
				buf[i] = 0;
			return 0;
		}
		while (*p && *p != ' ')
			p++;
	}
	if (len)
		buf[0] = 0;
	return -1;
}
