// tftp-thread-control.c - a bare TFTP read server for bench/netboot/tftp-lockstep.sh (CONTROL=1):
// the shape of tftpd-hpa's process per transfer as threads of one process, to tell what the shape
// costs from what hearth's process costs (bench/README.md, "TFTP lock-step with 32 clients").
//
// A main thread reads requests on ADDRESS:69; each RRQ gets a detached thread with a socket of its
// own (ADDRESS:0, unconnected) that answers blksize and tsize in an OACK (or starts with block 1
// when none is asked for), then blocks in poll() for each ACK and sends the next block with
// sendto(), from the file mapped into memory. Lock-step only (no windowsize), octet only, no
// access control beyond refusing "..": not a server to deploy, only a measuring stick.
// A silent client is given up after 6 timeouts of 1 s.
//
// Usage: tftp-thread-control ROOT ADDRESS     (gcc -O2 -pthread -o tftp-thread-control this.c)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *root;
static struct in_addr local;

struct request {
  struct sockaddr_in peer;
  unsigned char pkt[600];
  int len;
};

// The next NUL-terminated string of pkt[*at..len), or NULL when there is none.
static const char *next_str(const unsigned char *pkt, int len, int *at) {
  const char *s = (const char *)pkt + *at;
  const void *nul = memchr(s, 0, (size_t)(len - *at));
  if (*at >= len || nul == NULL) return NULL;
  *at = (int)((const unsigned char *)nul - pkt) + 1;
  return s;
}

static void *serve(void *arg) {
  struct request *r = arg;
  int at = 2, blksize = 512, fd = -1, s = -1, olen = 2;
  unsigned char oack[512] = {0, 6}, *map = MAP_FAILED, *buf = NULL;
  const char *name = next_str(r->pkt, r->len, &at), *mode = next_str(r->pkt, r->len, &at);
  char path[1024];
  struct stat st;
  if (!name || !mode || strstr(name, "..") || snprintf(path, sizeof path, "%s/%s", root, name) >= (int)sizeof path) goto out;
  if ((fd = open(path, O_RDONLY)) < 0 || fstat(fd, &st) != 0 || st.st_size == 0) goto out;
  if ((map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED) goto out;
  for (const char *k; (k = next_str(r->pkt, r->len, &at)) != NULL;) {
    const char *v = next_str(r->pkt, r->len, &at);
    if (!v) break;
    if (!strcasecmp(k, "blksize") && atoi(v) >= 8 && atoi(v) <= 65464) {
      blksize = atoi(v);
      olen += snprintf((char *)oack + olen, sizeof oack - (size_t)olen, "blksize%c%d", 0, blksize) + 1;
    } else if (!strcasecmp(k, "tsize")) {
      olen += snprintf((char *)oack + olen, sizeof oack - (size_t)olen, "tsize%c%lld", 0, (long long)st.st_size) + 1;
    }
  }
  if ((s = socket(AF_INET, SOCK_DGRAM, 0)) < 0) goto out;
  struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr = local};
  if (bind(s, (struct sockaddr *)&me, sizeof me) != 0) goto out;
  if ((buf = malloc((size_t)blksize + 4)) == NULL) goto out;
  long last = st.st_size / blksize + 1, block = olen > 2 ? 0 : 1;
  int tries = 0;
  for (;;) {
    // (Re)send what the client waits for: the OACK (block 0) or DATA `block`.
    if (block == 0) {
      sendto(s, oack, (size_t)olen, 0, (struct sockaddr *)&r->peer, sizeof r->peer);
    } else {
      long off = (block - 1) * blksize, n = st.st_size - off < blksize ? st.st_size - off : blksize;
      buf[0] = 0, buf[1] = 3, buf[2] = (unsigned char)(block >> 8), buf[3] = (unsigned char)block;
      memcpy(buf + 4, map + off, (size_t)n);
      sendto(s, buf, (size_t)n + 4, 0, (struct sockaddr *)&r->peer, sizeof r->peer);
    }
    for (;;) {
      struct pollfd p = {s, POLLIN, 0};
      if (poll(&p, 1, 1000) <= 0) {
        if (++tries > 6) goto out;
        break;  // resend
      }
      unsigned char ack[16];
      struct sockaddr_in from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(s, ack, sizeof ack, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
      if (n != 4 || ack[1] != 4 || from.sin_port != r->peer.sin_port || from.sin_addr.s_addr != r->peer.sin_addr.s_addr) continue;
      if (((ack[2] << 8) | ack[3]) != (block & 0xffff)) continue;  // a duplicate
      if (block == last) goto out;
      block++, tries = 0;
      break;
    }
  }
out:
  if (s >= 0) close(s);
  if (map != MAP_FAILED) munmap(map, (size_t)st.st_size);
  if (fd >= 0) close(fd);
  free(buf);
  free(r);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 3 || inet_pton(AF_INET, argv[2], &local) != 1) {
    fprintf(stderr, "usage: %s ROOT ADDRESS\n", argv[0]);
    return 2;
  }
  root = argv[1];
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(69), .sin_addr = local};
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) {
    perror("bind");
    return 1;
  }
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (;;) {
    struct request *r = calloc(1, sizeof *r);
    socklen_t pl = sizeof r->peer;
    if (r == NULL) return 1;
    r->len = (int)recvfrom(s, r->pkt, sizeof r->pkt, 0, (struct sockaddr *)&r->peer, &pl);
    pthread_t t;
    if (r->len < 4 || r->pkt[0] != 0 || r->pkt[1] != 1 || pthread_create(&t, &attr, serve, r) != 0) free(r);
  }
}
