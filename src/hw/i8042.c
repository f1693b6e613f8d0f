/*
 * i8042 keyboard controller, just enough for guests that probe it and for
 * the reset line (see lhyve/hw.h). No keyboard or mouse is attached:
 * bytes for the devices are ignored (the guest's probe times out), and the
 * controller never raises IRQ 1/12. Command facts from the IBM PC/AT
 * technical reference (8042 commands, output port bit 0 = reset line).
 *
 * Locking: k->lock protects the state; power_request() is called after
 * dropping it.
 */
#include <pthread.h>
#include <stdlib.h>

#include "lhyve/hw.h"
#include "lhyve/log.h"

#define I8042_DATA 0 /* 0x60 */
#define I8042_CMD 4  /* 0x64 */

#define ST_OBF 0x01    /* output buffer full */
#define ST_SYS 0x04    /* system flag (POST passed) */
#define ST_A2 0x08     /* last write was to the command port */
#define ST_UNLOCK 0x10 /* keyboard not inhibited */

#define CB_KBD_DIS 0x10
#define CB_AUX_DIS 0x20
#define OUT_RESET 0x01 /* output port bit 0: 0 = assert CPU reset */
#define OUT_A20 0x02

struct i8042 {
	pthread_mutex_t lock;
	struct power_sink ps;
	uint8_t cmd_byte;
	uint8_t out_port;
	uint8_t pending_cmd; /* command waiting for its data byte, 0: none */
	uint8_t obuf;
	bool obf;
	bool a2;
	struct ratelimit rl;
};

static void i8042_respond(struct i8042 *k, uint8_t v)
{
	k->obuf = v;
	k->obf = true;
}

/* Returns true when the command asks for a CPU reset. */
static bool i8042_command(struct i8042 *k, uint8_t c)
{
	k->pending_cmd = 0;
	switch (c) {
	case 0x20: /* read command byte */
		i8042_respond(k, k->cmd_byte);
		break;
	case 0x60: /* write command byte: data follows */
	case 0xD1: /* write output port: data follows */
		k->pending_cmd = c;
		break;
	case 0xA7: /* disable aux */
		k->cmd_byte |= CB_AUX_DIS;
		break;
	case 0xA8: /* enable aux */
		k->cmd_byte &= (uint8_t)~CB_AUX_DIS;
		break;
	case 0xA9: /* aux interface test: 0 = ok */
	case 0xAB: /* keyboard interface test: 0 = ok */
		i8042_respond(k, 0x00);
		break;
	case 0xAA: /* controller self test */
		i8042_respond(k, 0x55);
		break;
	case 0xAD: /* disable keyboard */
		k->cmd_byte |= CB_KBD_DIS;
		break;
	case 0xAE: /* enable keyboard */
		k->cmd_byte &= (uint8_t)~CB_KBD_DIS;
		break;
	case 0xD0: /* read output port */
		i8042_respond(k, k->out_port);
		break;
	default:
		if (c >= 0xF0) /* pulse output bits whose command bit is 0 */
			return !(c & OUT_RESET);
		log_rl(&k->rl, LOG_DEBUG, "i8042: command %#x ignored", c);
		break;
	}
	return false;
}

int i8042_io(void *opaque, uint64_t offset, unsigned size, bool write, uint64_t *data)
{
	struct i8042 *k = opaque;
	bool reset = false;

	if ((offset != I8042_DATA && offset != I8042_CMD) || size != 1) {
		if (!write)
			*data = ~0ULL;
		return 0;
	}
	pthread_mutex_lock(&k->lock);
	if (!write) {
		if (offset == I8042_CMD) {
			*data = ST_SYS | ST_UNLOCK | (k->obf ? ST_OBF : 0) |
				(k->a2 ? ST_A2 : 0);
		} else {
			*data = k->obuf;
			k->obf = false;
		}
	} else if (offset == I8042_CMD) {
		k->a2 = true;
		reset = i8042_command(k, (uint8_t)*data);
	} else {
		uint8_t v = (uint8_t)*data;
		k->a2 = false;
		if (k->pending_cmd == 0x60) {
			k->cmd_byte = v;
		} else if (k->pending_cmd == 0xD1) {
			k->out_port = v | OUT_RESET;
			reset = !(v & OUT_RESET);
		}
		/* else: a byte for the (absent) keyboard, dropped */
		k->pending_cmd = 0;
	}
	pthread_mutex_unlock(&k->lock);
	if (reset)
		power_request(&k->ps, VM_EXIT_RESET);
	return 0;
}

struct i8042 *i8042_new(const struct power_sink *ps)
{
	struct i8042 *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	pthread_mutex_init(&k->lock, NULL);
	if (ps)
		k->ps = *ps;
	k->cmd_byte = 0x45; /* translate, system flag, keyboard interrupt */
	k->out_port = OUT_RESET | OUT_A20;
	k->rl = (struct ratelimit)RATELIMIT_INIT;
	return k;
}

void i8042_free(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}
