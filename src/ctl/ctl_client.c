/* Control socket client (see lhyve/ctl.h). Blocking I/O; no shared state. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lhyve/ctl.h"

int ctl_client_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, dfd = -1, rc;

	if (strlen(path) < sizeof(a.sun_path)) {
		memcpy(a.sun_path, path, strlen(path) + 1);
	} else {
		char dir[PATH_MAX];
		const char *slash = strrchr(path, '/');
		if (!slash || (size_t)(slash - path) >= sizeof(dir)) {
			snprintf(err, errlen, "%s: path too long", path);
			return -ENAMETOOLONG;
		}
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			return rc;
		}
		snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d/%s", dfd, slash + 1);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	rc = fd;
out:
	if (dfd >= 0)
		close(dfd);
	return rc;
}

static int ctl_client_send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Read exactly n bytes; 0, -EPIPE on early EOF, -errno. */
static int ctl_client_recv_all(int fd, char *p, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return -EPIPE;
		if (r < 0)
			return -errno;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int ctl_client_request(int fd, const char *req, char **body, size_t *len, char *err,
		       size_t errlen)
{
	char line[CTL_REQ_MAX + 1], hdr[512];
	size_t hl = 0;
	int n, rc;

	*body = NULL;
	*len = 0;
	n = snprintf(line, sizeof(line), "%s\n", req);
	if (n < 0 || n > CTL_REQ_MAX) {
		snprintf(err, errlen, "request too long");
		return -E2BIG;
	}
	if ((rc = ctl_client_send_all(fd, line, (size_t)n)) < 0) {
		snprintf(err, errlen, "cannot send the request: %s", strerror(-rc));
		return rc;
	}
	/* Header line, byte by byte so nothing after it is consumed. */
	for (;;) {
		if (hl == sizeof(hdr) - 1) {
			snprintf(err, errlen, "malformed reply (header too long)");
			return -EPROTO;
		}
		if ((rc = ctl_client_recv_all(fd, hdr + hl, 1)) < 0) {
			snprintf(err, errlen, "%s", rc == -EPIPE ? "the VM closed the connection"
								 : strerror(-rc));
			return rc;
		}
		if (hdr[hl] == '\n')
			break;
		hl++;
	}
	hdr[hl] = '\0';
	if (!strncmp(hdr, "ERR ", 4)) {
		char *end;
		long code = strtol(hdr + 4, &end, 10);
		if (code <= 0 || code > 4095)
			code = EIO;
		while (*end == ' ')
			end++;
		snprintf(err, errlen, "%s", end);
		return (int)-code;
	}
	if (strncmp(hdr, "OK ", 3) != 0) {
		snprintf(err, errlen, "malformed reply '%.60s'", hdr);
		return -EPROTO;
	}
	char *end;
	unsigned long blen = strtoul(hdr + 3, &end, 10);
	if (*end || end == hdr + 3 || blen > CTL_BODY_MAX) {
		snprintf(err, errlen, "malformed reply length '%.60s'", hdr);
		return -EPROTO;
	}
	*body = malloc(blen + 1);
	if (!*body) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if ((rc = ctl_client_recv_all(fd, *body, blen)) < 0) {
		snprintf(err, errlen, "short reply: %s", strerror(-rc));
		free(*body);
		*body = NULL;
		return rc;
	}
	(*body)[blen] = '\0';
	*len = blen;
	return 0;
}
