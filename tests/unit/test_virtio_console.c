/* virtio-console ports over UNIX sockets, single and multiport. */
#include "unit.h"
#include "vqdrv.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lhyve/config.h"
#include "lhyve/event.h"

#define MEM (8 * MiB)
#define BUF 0x300000ULL
#define NODE "pci.0.6.0"

static struct guest_mem gm;

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void spin(struct evloop *l)
{
	for (int i = 0; i < 5; i++)
		evloop_run_once(l, 10);
}

static void test_single(void)
{
	char p1[64], err[256];
	snprintf(p1, sizeof(p1), "/tmp/lhyve-cons-%d-a.sock", (int)getpid());
	struct config *c = config_new();
	char conf[128];
	snprintf(conf, sizeof(conf), "port1=%s", p1);
	CHECK_EQ(console_legacy_config(c, NODE, conf, err, sizeof(err)), 0);
	struct evloop *loop = evloop_new();
	struct virtio_env env = { .gm = &gm, .loop = loop };
	struct virtio_dev *v = console_create(&env, c, NODE, err, sizeof(err));
	CHECK(v != NULL);
	if (!v) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_EQ(virtio_num_queues(v), 2);
	CHECK(!(virtio_get_device_features(v, 0) & 2));
	CHECK(access(p1, F_OK) == 0);
	struct vqdrv d;
	CHECK(vqdrv_start(&d, &gm, v, ~0ULL, 2, 16) & VIRTIO_S_DRIVER_OK);
	int cl = connect_to(p1);
	CHECK(cl >= 0);
	spin(loop);
	/* A second client is turned away. */
	int cl2 = connect_to(p1);
	spin(loop);
	char tmp[16];
	if (cl2 >= 0) {
		CHECK_EQ(read(cl2, tmp, sizeof(tmp)), 0);
		close(cl2);
	}
	/* host -> guest: data waits for a receive buffer. */
	CHECK_EQ(write(cl, "hello", 5), 5);
	spin(loop);
	struct vqdrv_buf rb = { BUF, 64, true };
	vqdrv_add(&d, 0, &rb, 1);
	vqdrv_kick(&d, 0);
	uint32_t id = 0, len = 0;
	CHECK(vqdrv_used(&d, 0, &id, &len));
	CHECK_EQ(len, 5);
	CHECK(memcmp(gm_ptr(&gm, BUF, 5), "hello", 5) == 0);
	/* guest -> host */
	memcpy(gm_ptr(&gm, BUF + 0x1000, 5), "world", 5);
	struct vqdrv_buf tb = { BUF + 0x1000, 5, false };
	vqdrv_add(&d, 1, &tb, 1);
	vqdrv_kick(&d, 1);
	CHECK(vqdrv_used(&d, 1, &id, &len));
	CHECK_EQ(read(cl, tmp, sizeof(tmp)), 5);
	CHECK(memcmp(tmp, "world", 5) == 0);
	/* Disconnect, reconnect. */
	close(cl);
	spin(loop);
	cl = connect_to(p1);
	CHECK(cl >= 0);
	spin(loop);
	CHECK_EQ(write(cl, "again", 5), 5);
	vqdrv_add(&d, 0, &rb, 1);
	vqdrv_kick(&d, 0);
	spin(loop);
	CHECK(vqdrv_used(&d, 0, &id, &len));
	CHECK_EQ(len, 5);
	close(cl);
	virtio_dev_destroy(v);
	CHECK(access(p1, F_OK) != 0); /* socket removed */
	evloop_free(loop);
	config_free(c);
}

/* Read one control message from the ctrl receiveq; false if none. */
static bool ctl_msg(struct vqdrv *d, uint64_t base, uint32_t *id, uint16_t *ev,
		    uint16_t *val, char *name)
{
	uint32_t head, len;
	if (!vqdrv_used(d, 2, &head, &len))
		return false;
	uint8_t *p = gm_ptr(&gm, base + 0x100ULL * head, 0x100);
	*id = get_le32(p);
	*ev = get_le16(p + 4);
	*val = get_le16(p + 6);
	if (name) {
		memcpy(name, p + 8, len - 8);
		name[len - 8] = '\0';
	}
	/* recycle the buffer */
	struct vqdrv_buf b = { base + 0x100ULL * d->q[2].next_desc, 0x100, true };
	vqdrv_add(d, 2, &b, 1);
	return true;
}

static void test_multiport(void)
{
	char p1[64], p2[64], err[256], conf[256];
	snprintf(p1, sizeof(p1), "/tmp/lhyve-cons-%d-b.sock", (int)getpid());
	snprintf(p2, sizeof(p2), "/tmp/lhyve-cons-%d-c.sock", (int)getpid());
	struct config *c = config_new();
	snprintf(conf, sizeof(conf), "org.qemu.guest_agent.0=%s,port1=%s", p2, p1);
	CHECK_EQ(console_legacy_config(c, NODE, conf, err, sizeof(err)), 0);
	CHECK_STR(config_get(c, NODE ".port.1.path"), p1);
	CHECK_STR(config_get(c, NODE ".port.2.name"), "org.qemu.guest_agent.0");
	struct evloop *loop = evloop_new();
	struct virtio_env env = { .gm = &gm, .loop = loop };
	struct virtio_dev *v = console_create(&env, c, NODE, err, sizeof(err));
	CHECK(v != NULL);
	if (!v) {
		fprintf(stderr, "%s\n", err);
		return;
	}
	CHECK_EQ(virtio_num_queues(v), 6);
	CHECK(virtio_get_device_features(v, 0) & 2);
	CHECK_EQ(virtio_config_read(v, 4, 4), 2);
	struct vqdrv d;
	CHECK(vqdrv_start(&d, &gm, v, ~0ULL, 6, 16) & VIRTIO_S_DRIVER_OK);
	int cl = connect_to(p2);
	spin(loop);
	const uint64_t CB = BUF + 0x10000;
	for (int i = 0; i < 8; i++) {
		struct vqdrv_buf b = { CB + 0x100ULL * (uint64_t)i, 0x100, true };
		vqdrv_add(&d, 2, &b, 1);
	}
	/* DEVICE_READY -> DEVICE_ADD for ports 0 and 1. */
	uint8_t *m = gm_ptr(&gm, BUF + 0x8000, 8);
	put_le32(m, 0);
	put_le16(m + 4, 0);
	put_le16(m + 6, 1);
	struct vqdrv_buf tb = { BUF + 0x8000, 8, false };
	vqdrv_add(&d, 3, &tb, 1);
	vqdrv_kick(&d, 3);
	uint32_t id;
	uint16_t ev, val;
	char name[300];
	CHECK(ctl_msg(&d, CB, &id, &ev, &val, NULL));
	CHECK_EQ(id, 0);
	CHECK_EQ(ev, 1);
	CHECK(ctl_msg(&d, CB, &id, &ev, &val, NULL));
	CHECK_EQ(id, 1);
	CHECK_EQ(ev, 1);
	/* PORT_READY for port 1 -> PORT_NAME, PORT_OPEN (host is connected). */
	put_le32(m, 1);
	put_le16(m + 4, 3);
	put_le16(m + 6, 1);
	vqdrv_add(&d, 3, &tb, 1);
	vqdrv_kick(&d, 3);
	CHECK(ctl_msg(&d, CB, &id, &ev, &val, name));
	CHECK_EQ(ev, 7);
	CHECK_STR(name, "org.qemu.guest_agent.0");
	CHECK(ctl_msg(&d, CB, &id, &ev, &val, NULL));
	CHECK_EQ(ev, 6);
	CHECK_EQ(val, 1);
	/* Data on port 1 (queues 4/5). */
	CHECK_EQ(write(cl, "ping", 4), 4);
	struct vqdrv_buf rb = { BUF, 64, true };
	vqdrv_add(&d, 4, &rb, 1);
	vqdrv_kick(&d, 4);
	spin(loop);
	uint32_t head, len;
	CHECK(vqdrv_used(&d, 4, &head, &len));
	CHECK_EQ(len, 4);
	/* Host disconnect -> PORT_OPEN 0. */
	close(cl);
	spin(loop);
	CHECK(ctl_msg(&d, CB, &id, &ev, &val, NULL));
	CHECK_EQ(id, 1);
	CHECK_EQ(ev, 6);
	CHECK_EQ(val, 0);
	virtio_dev_destroy(v);
	CHECK(access(p1, F_OK) != 0);
	CHECK(access(p2, F_OK) != 0);
	evloop_free(loop);
	config_free(c);
}

static void test_config_errors(void)
{
	struct config *c = config_new();
	char err[256];
	struct virtio_env env = { .gm = &gm };
	CHECK(console_legacy_config(c, NODE, "port0=/x", err, sizeof(err)) < 0);
	CHECK(console_legacy_config(c, NODE, "port17=/x", err, sizeof(err)) < 0);
	CHECK(console_legacy_config(c, NODE, "bare", err, sizeof(err)) < 0);
	CHECK(console_create(&env, c, NODE, err, sizeof(err)) == NULL);
	config_set(c, NODE ".port.1.path", "/nonexistent-dir/x.sock");
	CHECK(console_create(&env, c, NODE, err, sizeof(err)) == NULL);
	CHECK(strstr(err, "/nonexistent-dir/x.sock") != NULL);
	config_free(c);
}

int main(void)
{
	log_set_level(LOG_ERR);
	fake_gm_init(&gm, MEM, 0);
	RUN(test_single);
	RUN(test_multiport);
	RUN(test_config_errors);
	fake_gm_free(&gm);
	return unit_report();
}
