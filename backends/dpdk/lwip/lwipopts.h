/* lwIP as zcserve's dpdk engine builds it (scripts/fetch-lwip fetches the
 * source; CMakeLists.txt compiles it with this file). One stack, driven by
 * one thread — the worker's poll loop — with no operating system under it:
 * no locks, no threads, no sockets API, only the raw TCP API. The options
 * that differ from Debian's liblwip-dev are the reason the project builds
 * lwIP itself: LWIP_NETIF_TX_SINGLE_PBUF off, so tcp_write can reference a
 * reply's bytes (the file cache's mapping) instead of copying them, and a
 * send buffer sized for files, not for embedded boards. */
#ifndef ZC_LWIPOPTS_H
#define ZC_LWIPOPTS_H

/* No OS: the engine calls ethernet input and sys_check_timeouts itself. */
#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_SOCKET 0
#define LWIP_NETCONN 0
#define LWIP_NETIF_API 0
#define LWIP_TIMERS 1

/* Memory from the C heap: the connection limit is server.max_connections,
 * not a pool size compiled in. The pool counts below only satisfy lwIP's
 * compile-time sanity checks (with MEMP_MEM_MALLOC they are not limits). */
#define MEM_LIBC_MALLOC 1
#define MEMP_MEM_MALLOC 1
#define MEM_ALIGNMENT 8
#define MEMP_NUM_TCP_PCB 16384
#define MEMP_NUM_TCP_PCB_LISTEN 4
#define MEMP_NUM_TCP_SEG 65535
#define MEMP_NUM_PBUF 65535
#define PBUF_POOL_SIZE 256

/* IPv4 over Ethernet with a static address: no DHCP, no DNS, no UDP. */
#define LWIP_IPV4 1
#define LWIP_IPV6 0
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define ARP_TABLE_SIZE 64
#define LWIP_ICMP 1
#define LWIP_RAW 0
#define LWIP_UDP 0
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0
#define IP_REASSEMBLY 0
#define IP_FRAG 0
#define LWIP_SINGLE_NETIF 1
#define LWIP_HAVE_LOOPIF 0
#define LWIP_NETIF_LOOPBACK 0
#define ETH_PAD_SIZE 0

/* TCP for a file server: requests are small, replies large. Window scaling
 * lets the peer open a window beyond 64 KiB for our sends; our own receive
 * window stays at 64 KiB (TCP_RCV_SCALE 0), which a pipelining client
 * fills long before zcserve's read buffer limit matters. */
#define LWIP_TCP 1
#define TCP_MSS 1460
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 0
#define TCP_WND 65535
#define TCP_SND_BUF (1024 * 1024)
#define TCP_SND_QUEUELEN ((4 * TCP_SND_BUF) / TCP_MSS)
/* Only the sockets API's "writable" test reads these (unused here); lwIP's
 * sanity check wants the low-water mark well below 64 KiB. */
#define TCP_SNDLOWAT (16 * TCP_MSS)
/* No oversized segments: with them, tcp_write copies the first bytes of
 * the next write into the spare room of the last segment even when told
 * not to copy, so a small file's body sent by reference (the mmap sender)
 * was copied whole into lwIP, unseen by the engine's count. */
#define TCP_OVERSIZE 0
#define TCP_QUEUE_OOSEQ 1
#define LWIP_TCP_SACK_OUT 0
#define LWIP_TCP_TIMESTAMPS 0
#define LWIP_TCP_KEEPALIVE 0
#define TCP_LISTEN_BACKLOG 1
#define TCP_DEFAULT_LISTEN_BACKLOG 255
#define LWIP_CALLBACK_API 1
/* TIME_WAIT lasts 2 * TCP_MSL. A server that closes first (Connection:
 * close, a drain) keeps each such connection there, and lwIP, unlike
 * Linux, answers a new SYN on the same address and port pair with an ACK
 * instead of taking it: with lwIP's 60 s, a burst of short connections
 * after another left a fifth of the clients retrying their SYN for up to
 * two minutes (tests/dpdk/test_engine.py, bursts). One second bounds
 * that wait; old duplicates outliving it are not a concern on a link. */
#define TCP_MSL 1000UL
#define LWIP_EVENT_API 0

/* Zero copy: received frames are DPDK mbufs wrapped as custom pbufs, and a
 * sent body may be referenced rather than copied into the stack. */
#define LWIP_SUPPORT_CUSTOM_PBUF 1
#define LWIP_NETIF_TX_SINGLE_PBUF 0
#define LWIP_CHECKSUM_ON_COPY 1

/* Checksums in software, both ways: the virtual devices this engine is
 * tested on offer no offload, and a kernel peer's veth must have its TX
 * offload off (docs/backends/dpdk.md). */
#define CHECKSUM_GEN_IP 1
#define CHECKSUM_GEN_TCP 1
#define CHECKSUM_GEN_ICMP 1
#define CHECKSUM_CHECK_IP 1
#define CHECKSUM_CHECK_TCP 1
#define CHECKSUM_CHECK_ICMP 1

/* Figures come from zcserve's own counters, not lwIP's. */
#define LWIP_STATS 0
#define LWIP_NETIF_LINK_CALLBACK 0
#define LWIP_NETIF_STATUS_CALLBACK 0

#endif /* ZC_LWIPOPTS_H */
