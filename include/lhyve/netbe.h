/*
 * Network backends for NIC emulations. A backend is a non-blocking fd that
 * carries one frame per read/write, each prefixed by a 12-byte
 * virtio_net_hdr (v1 layout, little endian): a Linux tap opened with
 * IFF_VNET_HDR, or (tests) any message-preserving fd such as a
 * SOCK_SEQPACKET socketpair.
 * Threading: none inside; the owning device serialises its calls.
 */
#ifndef LHYVE_NETBE_H
#define LHYVE_NETBE_H

#include <stdbool.h>
#include <stddef.h>

#define NETBE_HDR_LEN 12

struct netbe;

/*
 * Open (creating if needed) the tap interface `name` ("tapN"/"vmnetN"),
 * brought up if we may. NULL and one line in err on failure, e.g.
 * "tap0: cannot open /dev/net/tun: Permission denied".
 */
struct netbe *netbe_tap_open(const char *name, char *err, size_t errlen);
/* Wrap an fd we take ownership of (set non-blocking). offloads: the peer
 * understands checksum/GSO fields of the header. */
struct netbe *netbe_fd_open(int fd, bool offloads);
void netbe_close(struct netbe *nb);
int netbe_fd(const struct netbe *nb);
/* True if the backend can take and give checksum/TSO offloaded frames. */
bool netbe_has_offloads(const struct netbe *nb);
/* Which offloads the guest accepts on receive (TUNSETOFFLOAD); 0 or -errno. */
int netbe_set_offload(struct netbe *nb, bool csum, bool tso4, bool tso6, bool ecn);
/* Is name a tap-style backend name ("tap..." or "vmnet...")? */
bool netbe_is_tap_name(const char *name);

#endif
