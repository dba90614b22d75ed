// The threads that answer the ACKs of TFTP transfers served from memory (see tftp_socket.cc).
//
// A transfer handed over is a ServedTransfer: its socket, its peer, a view of the file's bytes
// (kept alive by the JS object that owns the transfer) and its window. On each ACK from the peer
// that moves the window the thread serving it sends the next window itself, so lock-step transfers
// are answered on every core, not only on the event loop's. What JS must see (the ACK of the last
// block, any other datagram) is queued on the transfer and signalled through the owner's uv_async
// handle. Every field is guarded by the transfer's mutex; once `active` is cleared (under it) no
// thread touches the socket, the bytes or the handle again, and the transfer is freed only when no
// thread can still hold it.
//
// Up to 64 transfers at a time (HEARTH_TFTP_OWN_THREADS, 0..1024) get a thread of their own that
// blocks in poll() on the transfer's socket, connected to the client: tftpd-hpa's process per
// transfer, as threads. Such a thread wakes one client and is woken by it alone, and it moves to
// the core the client's datagrams arrive on (Follow), so the pair stays on one core and a block
// costs no wake-up of the other (bench/netboot/tftp-lockstep.sh: two shared epoll threads serving
// 32 lock-step clients woke them on the other core 44 % of the time; with their own threads not
// following, pairs split at their first wake-up stayed split). Strangers writing to a connected
// transfer's port are turned away by the kernel (ICMP port unreachable), as tftpd-hpa's are.
// Transfers beyond that (a flood of requests, clients that never answer) share a few engine
// threads, each waiting on an epoll set of many, so threads and their memory stay bounded.
//
// A transfer that is one of few (no more than the cores) and whose client answers fast stays
// awake for its next ACK a short while (Linger) instead of sleeping: in lock-step the wake-up of a
// sleeping CPU costs about as much as the rest of a block's round trip.
#pragma once
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace hearth {

// Milliseconds on Date.now()'s clock.
inline double NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec / 1000000);
}

// Microseconds on a monotonic clock.
inline int64_t MonoUs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

struct ServedTransfer {
  // Datagrams for JS held at most, and the largest held (others are dropped and counted): a stranger flooding
  // a transfer's port holds at most 32 KiB per transfer until the event loop takes them.
  static constexpr size_t kMaxOthers = 8;
  static constexpr size_t kMaxOtherBytes = 4096;
  // Most DATA packets handed to one sendmmsg call.
  static constexpr int kBatch = 64;

  struct Other {
    std::vector<uint8_t> data;
    sockaddr_in from;
  };

  std::mutex mu;
  bool active = false;  // served by a thread, not closed
  int fd = -1;
  sockaddr_in peer{};
  const uint8_t* bytes = nullptr;
  size_t size = 0;
  size_t blksize = 512;
  int64_t window = 1;
  int64_t lastBlock = 0;
  int64_t base = 1;
  double progress = 0, lastSend = 0, dups = 0, sendErrors = 0;
  uv_async_t* wake = nullptr;  // the owner's handle on its loop
  bool finished = false;       // the ACK of the last block arrived
  int finalBlock = 0;
  std::vector<Other> others;
  int droppedForeign = 0;  // datagrams let go since the owner last looked: from other senders
  int droppedPeer = 0;     // ... and from the peer
  void* engine = nullptr;  // which engine serves it, if one does (set and read on the owner's thread only)
  int stopFd = -1;         // an eventfd that ends the transfer's own thread, if it has one
  int slowAcks = 0;        // ACKs in a row later than a linger, then ACKs since (the serving thread only; see Linger)

  ServedTransfer() = default;
  ServedTransfer(const ServedTransfer&) = delete;
  ServedTransfer& operator=(const ServedTransfer&) = delete;
  ~ServedTransfer() {
    if (stopFd >= 0) ::close(stopFd);
  }

  // Sends blocks base..min(base + window - 1, lastBlock): a 4-byte header and a view of the bytes each.
  int SendWindow() {
    int64_t last = std::min(base + window - 1, lastBlock);
    int rc = 0;
    for (int64_t first = base; first <= last && fd >= 0;) {
      int n = static_cast<int>(std::min<int64_t>(kBatch, last - first + 1));
      uint8_t heads[kBatch][4];
      iovec iov[kBatch][2];
      mmsghdr msgs[kBatch];
      for (int i = 0; i < n; i++) {
        int64_t b = first + i;
        size_t off = static_cast<size_t>(b - 1) * blksize;
        size_t len = std::min(blksize, size - off);
        heads[i][0] = 0;
        heads[i][1] = 3;  // DATA
        heads[i][2] = static_cast<uint8_t>((b >> 8) & 0xff);
        heads[i][3] = static_cast<uint8_t>(b & 0xff);
        iov[i][0] = {heads[i], 4};
        iov[i][1] = {const_cast<uint8_t*>(bytes + off), len};
        msgs[i] = mmsghdr{};
        msgs[i].msg_hdr.msg_name = &peer;
        msgs[i].msg_hdr.msg_namelen = sizeof peer;
        msgs[i].msg_hdr.msg_iov = iov[i];
        msgs[i].msg_hdr.msg_iovlen = len > 0 ? 2 : 1;
      }
      int sent = 0;
      while (sent < n) {
        // One datagram (lock-step) goes by sendmsg: sendmmsg offers the CPU to others after each message.
        int r = n - sent == 1 ? (sendmsg(fd, &msgs[sent].msg_hdr, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -1 : 1)
                              : sendmmsg(fd, msgs + sent, static_cast<unsigned>(n - sent), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r < 0) {
          if (errno == EINTR) continue;
          rc = -errno;  // a full send queue: the rest of the window is lost, as a lost datagram would be
          sendErrors += 1;
          break;
        }
        sent += r;
      }
      if (sent < n) break;
      first += n;
    }
    lastSend = NowMs();
    return rc;
  }

  // An ACK from the peer: moves the window and sends the next one. True when it acknowledges the last block.
  bool OnAck(int block) {
    int64_t inFlight = std::min(window, lastBlock - base + 1);
    int64_t delta = (block - (base & 0xffff) + 0x10000) & 0xffff;
    if (delta >= inFlight) {
      dups += 1;  // a duplicate or stray block number: nothing moves
      return false;
    }
    base += delta + 1;
    progress = NowMs();
    if (base > lastBlock) return true;
    SendWindow();
    return false;
  }

  // Reads what the socket holds (bounded); called by its serving thread with `mu` held and `active` set.
  // True when an ACK from the peer was read.
  bool Drain() {
    // Larger datagrams are not kept (kMaxOtherBytes): MSG_TRUNC still tells their length.
    uint8_t buf[kMaxOtherBytes + 1];
    for (int i = 0; i < 64; i++) {
      sockaddr_in src{};
      socklen_t slen = sizeof src;
      ssize_t len = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC, reinterpret_cast<sockaddr*>(&src), &slen);
      if (len < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      bool fromPeer = src.sin_addr.s_addr == peer.sin_addr.s_addr && src.sin_port == peer.sin_port;
      if (fromPeer && len == 4 && buf[0] == 0 && buf[1] == 4) {
        if (finished) {
          dups += 1;
          continue;
        }
        if (OnAck((buf[2] << 8) | buf[3])) {
          finished = true;
          finalBlock = (buf[2] << 8) | buf[3];
          uv_async_send(wake);
        }
        // The client now waits for what was just sent: leave anything else to the next wake-up
        // (the epoll set is level-triggered) rather than ask again and hear EAGAIN.
        return true;
      }
      if (others.size() < kMaxOthers && static_cast<size_t>(len) <= kMaxOtherBytes) {
        others.push_back(Other{std::vector<uint8_t>(buf, buf + len), src});
      } else {
        (fromPeer ? droppedPeer : droppedForeign) += 1;  // counted by the owner as dropped
      }
      uv_async_send(wake);
    }
    return false;
  }
};

class ServeEngines {
 public:
  // The serving threads of this process: the shared engines start on first use (never stopped:
  // they wait in epoll_wait); a transfer's own thread ends with the transfer.
  static ServeEngines* Get() {
    static ServeEngines* engines = new ServeEngines();
    return engines;
  }

  // Hands `t` (active, its socket not watched by anyone else) to a thread of its own while fewer
  // than ownMax_ transfers have one, else to the engine serving the fewest transfers (taking
  // turns among equals), so a transfer left hanging by its client does not share an engine with a
  // new one while another engine is free. 0 or -errno.
  int Add(const std::shared_ptr<ServedTransfer>& t) {
    if (AddOwn(t)) return 0;
    if (engines_.empty()) return -ENOSYS;
    size_t start = next_++;
    Engine* e = nullptr;
    for (size_t i = 0; i < engines_.size(); i++) {
      Engine* c = engines_[(start + i) % engines_.size()].get();
      if (e == nullptr || c->transfers.load(std::memory_order_relaxed) < e->transfers.load(std::memory_order_relaxed)) e = c;
    }
    {
      std::lock_guard<std::mutex> l(t->mu);
      t->SendWindow();
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = t.get();
    if (epoll_ctl(e->ep, EPOLL_CTL_ADD, t->fd, &ev) < 0) return -errno;
    t->engine = e;
    e->transfers.fetch_add(1, std::memory_order_relaxed);
    served_.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }

  // Takes `t` back from its thread; the caller has cleared `active` under t->mu. `t` is kept
  // until no thread can still hold it: its own thread holds a reference of its own; an engine's
  // epoll_wait result may, so it is freed once that engine waits again.
  void Remove(const std::shared_ptr<ServedTransfer>& t) {
    if (t->stopFd >= 0) {
      uint64_t one = 1;
      ssize_t w = ::write(t->stopFd, &one, sizeof one);
      (void)w;  // an eventfd's counter does not overflow at one write per transfer
      return;
    }
    auto* e = static_cast<Engine*>(t->engine);
    if (e == nullptr) return;
    t->engine = nullptr;
    epoll_ctl(e->ep, EPOLL_CTL_DEL, t->fd, nullptr);
    e->transfers.fetch_sub(1, std::memory_order_relaxed);
    served_.fetch_sub(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> g(e->mu);
    e->graveyard.push_back(t);
  }

 private:
  struct Engine {
    int ep = -1;
    std::mutex mu;
    std::vector<std::shared_ptr<ServedTransfer>> graveyard;
    std::atomic<int> transfers{0};  // added and not yet removed
  };

  // Transfers served by threads of their own at most, unless HEARTH_TFTP_OWN_THREADS says
  // otherwise (0: all share the engines), and those threads' stack size (a thread needs a few
  // KiB: SendWindow's batch and Drain's buffer).
  static constexpr int kOwnThreads = 64;
  static constexpr int kMaxOwnThreads = 1024;
  static constexpr size_t kOwnStack = 256 * 1024;

  static int OwnMax() {
    const char* v = getenv("HEARTH_TFTP_OWN_THREADS");
    if (v == nullptr || *v == 0) return kOwnThreads;
    char* end = nullptr;
    long n = strtol(v, &end, 10);
    return *end == 0 && n >= 0 && n <= kMaxOwnThreads ? static_cast<int>(n) : kOwnThreads;
  }

  // How long a thread stays awake for the next ACK of its transfer; after kMaxSlowAcks ACKs in a
  // row that took longer (a client far away, or slow) it tries again only once per kRetryAfter
  // ACKs of that transfer.
  static constexpr int64_t kLingerUs = 80;
  static constexpr int kMaxSlowAcks = 4;
  static constexpr int kRetryAfter = 256;

  // After an ACK of `t`: reads its next ACKs while they come within kLingerUs of each other and
  // `alone()` holds. Ends when one does not, when the transfer ends or is closed; `t` stays alive
  // meanwhile (see Run and RunOwn).
  template <typename Alone>
  static void Linger(ServedTransfer* t, Alone alone) {
    if (t->slowAcks >= kMaxSlowAcks) {
      if (++t->slowAcks < kMaxSlowAcks + kRetryAfter) return;
      t->slowAcks = kMaxSlowAcks - 1;  // one more try: a miss gives up again at once
    }
    int64_t until = MonoUs() + kLingerUs;
    while (alone()) {
      {
        std::lock_guard<std::mutex> l(t->mu);
        if (!t->active || t->finished) return;
        if (t->Drain()) {
          t->slowAcks = 0;
          until = MonoUs() + kLingerUs;
          continue;
        }
      }
      if (MonoUs() >= until) {
        t->slowAcks += 1;  // back to waiting, which hears this ACK when it comes
        return;
      }
    }
  }

  ServeEngines() : cores_(static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))), ownMax_(OwnMax()) {
    int n = std::min(4, cores_);
    for (int i = 0; i < n; i++) {
      auto e = std::make_unique<Engine>();
      e->ep = epoll_create1(EPOLL_CLOEXEC);
      if (e->ep < 0) break;
      pthread_t th;
      if (pthread_create(&th, nullptr, &ServeEngines::Run, e.get()) != 0) {
        ::close(e->ep);
        break;
      }
      pthread_detach(th);
      engines_.push_back(std::move(e));
    }
  }

  // Starts a thread of its own for `t` if fewer than ownMax_ have one. False: serve it on an engine.
  bool AddOwn(const std::shared_ptr<ServedTransfer>& t) {
    if (own_.fetch_add(1, std::memory_order_relaxed) >= ownMax_) {
      own_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) {
      own_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    t->stopFd = efd;
    auto* held = new std::shared_ptr<ServedTransfer>(t);  // the thread's reference, dropped as it ends
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, kOwnStack);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    int rc = pthread_create(&th, &attr, &ServeEngines::RunOwn, held);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
      delete held;
      ::close(efd);
      t->stopFd = -1;
      own_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    served_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  // Every kFollowEvery ACKs (from the first) a transfer's own thread moves to the core its client's
  // datagrams arrive on, when it is not there (Follow).
  static constexpr int kFollowEvery = 32;

  // Moves the calling thread to core `in`, the one the last datagram on its connected socket was
  // received on (SO_INCOMING_CPU), when that is another, then lets the scheduler place it freely again (`all`). On one host
  // that is the core the client runs on; the two then wake each other on one core, as a process
  // per transfer and its client do, instead of waking the other core for every block (an
  // inter-processor interrupt each; see bench/README.md, "TFTP lock-step with 32 clients").
  static void Follow(int in, const cpu_set_t& all) {
    if (in < 0 || in == sched_getcpu()) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(in, &one);
    if (!CPU_ISSET(in, &all) || sched_setaffinity(0, sizeof one, &one) != 0) return;
    sched_setaffinity(0, sizeof all, &all);
  }

  // A transfer's own thread: waits for its socket or its stop signal, answers each ACK, ends once
  // the transfer is no longer active.
  static void* RunOwn(void* arg) {
    auto* held = static_cast<std::shared_ptr<ServedTransfer>*>(arg);
    ServedTransfer* t = held->get();
    ServeEngines* self = Get();
    {
      std::lock_guard<std::mutex> l(t->mu);
      if (t->active) {
        // Connected, as tftpd-hpa's are: the kernel then tells on which core the client's
        // datagrams arrive (SO_INCOMING_CPU, see Follow), and turns strangers away itself.
        connect(t->fd, reinterpret_cast<const sockaddr*>(&t->peer), sizeof t->peer);
        if (!t->finished) t->SendWindow();
      }
    }
    cpu_set_t all;
    CPU_ZERO(&all);
    bool follow = sched_getaffinity(0, sizeof all, &all) == 0 && CPU_COUNT(&all) > 1;
    int64_t acks = 0;
    for (;;) {
      int fd;
      {
        std::lock_guard<std::mutex> l(t->mu);
        if (!t->active) break;
        fd = t->fd;
      }
      // If the owner closes the socket meanwhile (and its number is reused), the stop signal is
      // already set: poll returns at once and the check above ends the thread before any read.
      pollfd fds[2] = {{fd, POLLIN, 0}, {t->stopFd, POLLIN, 0}};
      int n = poll(fds, 2, -1);
      if (n < 0 && errno != EINTR) break;
      if (n <= 0 || fds[1].revents != 0) continue;
      bool acked;
      int in = -1;
      {
        std::lock_guard<std::mutex> l(t->mu);
        acked = t->active && t->Drain();
        if (acked && follow && ++acks % kFollowEvery == 1) {
          socklen_t len = sizeof in;
          if (getsockopt(t->fd, SOL_SOCKET, SO_INCOMING_CPU, &in, &len) != 0) in = -1;
        }
      }
      if (!acked) continue;
      Follow(in, all);
      Linger(t, [self] { return self->served_.load(std::memory_order_relaxed) <= self->cores_; });
    }
    self->own_.fetch_sub(1, std::memory_order_relaxed);
    self->served_.fetch_sub(1, std::memory_order_relaxed);
    delete held;
    return nullptr;
  }

  static void* Run(void* arg) {
    auto* e = static_cast<Engine*>(arg);
    epoll_event evs[64];
    for (;;) {
      {
        // Removed before this epoll_wait (and out of the previous batch, which is done): free them.
        std::vector<std::shared_ptr<ServedTransfer>> dead;
        std::lock_guard<std::mutex> g(e->mu);
        dead.swap(e->graveyard);
      }
      int n = epoll_wait(e->ep, evs, 64, 1000);
      for (int i = 0; i < n; i++) {
        auto* t = static_cast<ServedTransfer*>(evs[i].data.ptr);
        bool acked;
        {
          std::lock_guard<std::mutex> l(t->mu);
          acked = t->active && t->Drain();
        }
        if (acked && n == 1) Linger(t, [e] { return e->transfers.load(std::memory_order_relaxed) == 1; });
      }
    }
  }

  const int cores_;
  const int ownMax_;
  std::vector<std::unique_ptr<Engine>> engines_;
  std::atomic<size_t> next_{0};
  std::atomic<int> own_{0};     // transfers with a thread of their own (threads not yet ended)
  std::atomic<int> served_{0};  // transfers served by any thread
};

}  // namespace hearth
