// hearth_udp: a UDP socket for DHCP servers that Node's dgram cannot provide.
//
// dgram has no SO_BINDTODEVICE (serve one interface only, send replies out of it) and no
// IP_PKTINFO (which interface and destination address a packet came in on; which source address
// and interface a reply leaves with). This addon opens the socket itself with those options and
// hands the fd to libuv (uv_poll), so receiving stays non-blocking on Node's event loop:
// when the fd is readable it drains it with recvmmsg() and calls JS with the datagrams in batches.
//
// JS API (see src/netboot/dhcp/transport.ts):
//   const s = new UdpSocket({ interface: 'br0', port: 67, rcvbuf: 4 << 20, reuseaddr: false });
//   const meta = new Float64Array(64 * 6);
//   s.start((data: Buffer, count: number) => {}, meta);
//   (one call per batch of `count` datagrams, all in `data`, one after the other; the i-th is
//   described by meta[6i ..]: offset in data, length, source address (a 32-bit number, host
//   order), source port, destination address, queuedMs = how long it waited in the socket's
//   receive queue from the kernel's receive timestamp, -1 when the kernel gave none. `meta` is
//   rewritten by the next batch: read it during the call)
//   s.send(data, ip, port, srcIp?) -> 0 or -errno
//   s.queue(data, ip, port, srcIp?) -> datagrams queued or -errno; s.flush(results: Int32Array) -> count
//   (replies released together leave in one sendmmsg; results[i]: 0 or -errno of the i-th queued)
//   s.ifindex; s.close();
//   appendDurably(fd, data, sync, (errno, written) => {})   (the lease journal, see below)
#include <napi.h>
#include <uv.h>

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <net/if.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace {

class UdpSocket : public Napi::ObjectWrap<UdpSocket> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function cls = DefineClass(env, "UdpSocket",
                                     {
                                         InstanceMethod("start", &UdpSocket::Start),
                                         InstanceMethod("send", &UdpSocket::Send),
                                         InstanceMethod("queue", &UdpSocket::Queue),
                                         InstanceMethod("flush", &UdpSocket::Flush),
                                         InstanceMethod("close", &UdpSocket::Close),
                                         InstanceAccessor("ifindex", &UdpSocket::IfIndex, nullptr),
                                         InstanceAccessor("port", &UdpSocket::Port, nullptr),
                                     });
    exports.Set("UdpSocket", cls);
    return exports;
  }

  explicit UdpSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UdpSocket>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) {
      Napi::TypeError::New(env, "UdpSocket({interface, port, address?, rcvbuf?})").ThrowAsJavaScriptException();
      return;
    }
    Napi::Object o = info[0].As<Napi::Object>();
    std::string ifname = o.Has("interface") && o.Get("interface").IsString() ? o.Get("interface").As<Napi::String>().Utf8Value() : "";
    int port = o.Has("port") && o.Get("port").IsNumber() ? o.Get("port").As<Napi::Number>().Int32Value() : 0;
    std::string addr = o.Has("address") && o.Get("address").IsString() ? o.Get("address").As<Napi::String>().Utf8Value() : "0.0.0.0";
    int rcvbuf = o.Has("rcvbuf") && o.Get("rcvbuf").IsNumber() ? o.Get("rcvbuf").As<Napi::Number>().Int32Value() : 0;
    bool reuse = o.Has("reuseaddr") && o.Get("reuseaddr").ToBoolean().Value();

    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (fd_ < 0) { Fail(env, "socket"); return; }
    int one = 1;
    // Without SO_REUSEADDR a second DHCP server on the same interface (or on all interfaces)
    // makes bind() fail with EADDRINUSE instead of two servers answering; servers bound to
    // different devices still coexist.
    if (reuse && setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) { Fail(env, "SO_REUSEADDR"); return; }
    if (setsockopt(fd_, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0) { Fail(env, "SO_BROADCAST"); return; }
    if (setsockopt(fd_, IPPROTO_IP, IP_PKTINFO, &one, sizeof one) < 0) { Fail(env, "IP_PKTINFO"); return; }
    // Receive timestamps, so the server can tell a datagram that waited long in the queue (it is
    // behind) from a burst it is keeping up with. Optional: without them queuedMs is -1.
    setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    if (rcvbuf > 0) {
      // SO_RCVBUFFORCE passes net.core.rmem_max when we have CAP_NET_ADMIN; fall back quietly.
      if (setsockopt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) {
        setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
      }
      if (setsockopt(fd_, SOL_SOCKET, SO_SNDBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0) {
        setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof rcvbuf);
      }
    }
    if (!ifname.empty()) {
      if (ifname.size() >= IFNAMSIZ) {
        Napi::Error::New(env, "interface name too long: " + ifname).ThrowAsJavaScriptException();
        CloseFd();
        return;
      }
      ifindex_ = static_cast<int>(if_nametoindex(ifname.c_str()));
      if (ifindex_ == 0) { Fail(env, ("no such interface " + ifname).c_str()); return; }
      if (setsockopt(fd_, SOL_SOCKET, SO_BINDTODEVICE, ifname.c_str(), static_cast<socklen_t>(ifname.size() + 1)) < 0) {
        {
          Fail(env, ("SO_BINDTODEVICE " + ifname).c_str());
          return;
        }
      }
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) {
      Napi::Error::New(env, "bad bind address " + addr).ThrowAsJavaScriptException();
      CloseFd();
      return;
    }
    if (bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
      {
        Fail(env, ("bind " + addr + ":" + std::to_string(port)).c_str());
        return;
      }
    }
    socklen_t len = sizeof sa;
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0) port_ = ntohs(sa.sin_port);
  }

  ~UdpSocket() override {
    if (poll_ == nullptr) CloseFd();
  }

 private:
  void Fail(Napi::Env env, const char* what) {
    int e = errno;
    Napi::Error err = Napi::Error::New(env, std::string(what) + ": " + strerror(e));
    err.Set("errno", Napi::Number::New(env, e));
    CloseFd();
    err.ThrowAsJavaScriptException();
  }

  void CloseFd() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }

  Napi::Value IfIndex(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ifindex_); }
  Napi::Value Port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), port_); }

  Napi::Value Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (fd_ < 0 || poll_ != nullptr) {
      Napi::Error::New(env, "socket closed or already started").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info.Length() < 2 || !info[0].IsFunction() || !info[1].IsTypedArray() ||
        info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        info[1].As<Napi::TypedArray>().ElementLength() < kBatch * kMeta) {
      Napi::TypeError::New(env, "start(callback, meta: Float64Array(64 * 6))").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    callback_ = Napi::Persistent(info[0].As<Napi::Function>());
    Napi::Float64Array meta = info[1].As<Napi::Float64Array>();
    meta_ = Napi::Persistent(meta);
    context_ = new Napi::AsyncContext(env, "hearth_udp");
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      Napi::Error::New(env, "no event loop").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    poll_ = new uv_poll_t;
    poll_->data = this;
    int rc = uv_poll_init(loop, poll_, fd_);
    if (rc == 0) rc = uv_poll_start(poll_, UV_READABLE, &UdpSocket::OnReadable);
    if (rc != 0) {
      delete poll_;
      poll_ = nullptr;
      Napi::Error::New(env, std::string("uv_poll: ") + uv_strerror(rc)).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Ref();  // stay alive while the loop can call us
    return env.Undefined();
  }

  static void OnReadable(uv_poll_t* handle, int status, int /*events*/) {
    auto* self = static_cast<UdpSocket*>(handle->data);
    if (status < 0 || self->fd_ < 0) return;
    self->Drain();
  }

  void Drain() {
    Napi::Env env = Env();
    // Bounded per wakeup so one busy socket cannot starve the rest of the loop. Datagrams come in
    // with recvmmsg (up to kRecvSlots per system call, each with its own IP_PKTINFO and receive
    // timestamp) and are handed to JS in batches: one call per batch, its datagrams' bytes in one
    // new Buffer and their addresses, ports and ages as numbers in the reused `meta` array. That
    // saves a JS entry and a microtask checkpoint per packet, and per packet a Buffer of its own
    // (an ArrayBuffer with its own backing store for the GC to track) and a few Node-API calls.
    for (int round = 0; round < 8 && fd_ >= 0; round++) {
      Napi::HandleScope scope(env);
      uint32_t n = 0;
      uint32_t got = 0;
      staged_.clear();
      double* meta = meta_.Value().Data();
      bool drained = false;
      timespec now{};
      clock_gettime(CLOCK_REALTIME, &now);
      while (got < kBatch && !drained && fd_ >= 0) {
        unsigned want = kBatch - got < kRecvSlots ? kBatch - got : kRecvSlots;
        for (unsigned i = 0; i < want; i++) {
          RecvSlot& r = recv_[i];
          msghdr& m = Message(hdrs_[i], r.src, r.iov, r.data, sizeof r.data);
          m.msg_control = r.control;
          m.msg_controllen = sizeof r.control;
        }
        int count = recvmmsg(fd_, hdrs_, want, MSG_DONTWAIT, nullptr);
        if (count < 0) {
          if (errno == EINTR) continue;
          drained = true;  // EAGAIN: drained; other errors (ICMP-triggered) are transient for UDP
          break;
        }
        // Fewer than asked: the queue was empty at that moment (a later arrival wakes the poll again).
        if (static_cast<unsigned>(count) < want) drained = true;
        got += static_cast<unsigned>(count);
        for (int i = 0; i < count; i++) {
          msghdr& msg = hdrs_[i].msg_hdr;
          size_t len = hdrs_[i].msg_len;
          int ifindex = 0;
          in_addr dst{};
          double queuedMs = -1;
          for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
              in_pktinfo pi;
              memcpy(&pi, CMSG_DATA(c), sizeof pi);
              ifindex = pi.ipi_ifindex;
              dst = pi.ipi_addr;
            } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
              timespec ts;
              memcpy(&ts, CMSG_DATA(c), sizeof ts);
              double ms = static_cast<double>(now.tv_sec - ts.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec - ts.tv_nsec) / 1e6;
              queuedMs = ms < 0 ? 0 : ms;  // the clock read once per batch: a later datagram may look younger than 0
            }
          }
          // With SO_BINDTODEVICE the kernel already filters; this guards against a packet queued
          // before the option took effect.
          if (ifindex_ != 0 && ifindex != 0 && ifindex != ifindex_) continue;
          // A datagram larger than a slot arrives cut (MSG_TRUNC) and is passed on empty (dropped
          // as truncated); DHCP messages fit in an Ethernet frame, jumbo ones included.
          bool truncated = (msg.msg_flags & MSG_TRUNC) != 0;
          const sockaddr_in& src = recv_[i].src;
          size_t keep = truncated ? 0 : len;
          double* m = meta + n * kMeta;
          m[0] = static_cast<double>(staged_.size());
          m[1] = static_cast<double>(keep);
          m[2] = static_cast<double>(ntohl(src.sin_addr.s_addr));
          m[3] = static_cast<double>(ntohs(src.sin_port));
          m[4] = static_cast<double>(ntohl(dst.s_addr));
          m[5] = queuedMs;
          staged_.insert(staged_.end(), recv_[i].data, recv_[i].data + keep);
          n++;
        }
      }
      if (n > 0) {
        Napi::Buffer<uint8_t> data = Napi::Buffer<uint8_t>::Copy(env, staged_.data(), staged_.size());
        callback_.MakeCallback(Value(), {data, Napi::Number::New(env, n)}, *context_);
        if (env.IsExceptionPending()) {
          Napi::Error e = env.GetAndClearPendingException();
          napi_fatal_exception(env, e.Value());
          return;
        }
      }
      if (drained || fd_ < 0) return;
    }
  }

  // queue(buffer, ip, port, srcIp?) -> datagrams queued, or -errno (EINVAL: bad address,
  // ENOBUFS: the queue is full, flush first). The bytes are copied: the caller may reuse its buffer.
  Napi::Value Queue(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!DatagramArgs(info, "queue")) return env.Undefined();
    if (fd_ < 0) return Napi::Number::New(env, -EBADF);
    if (queued_ >= kSendSlots) return Napi::Number::New(env, -ENOBUFS);
    SendSlot& s = send_[queued_];
    int rc = Address(info, s.dst, s.info, s.withInfo);
    if (rc != 0) return Napi::Number::New(env, rc);
    Napi::Buffer<uint8_t> data = info[0].As<Napi::Buffer<uint8_t>>();
    s.data.assign(data.Data(), data.Data() + data.Length());
    queued_++;
    return Napi::Number::New(env, queued_);
  }

  // flush(results: Int32Array) -> how many were sent or failed: every queued datagram goes out with
  // sendmmsg (one system call when none fails); results[i] gets 0 or -errno for the i-th queued.
  Napi::Value Flush(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
      Napi::TypeError::New(env, "flush(results: Int32Array)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Int32Array results = info[0].As<Napi::Int32Array>();
    unsigned total = queued_;
    queued_ = 0;
    if (results.ElementLength() < total) {
      Napi::RangeError::New(env, "flush: results too short").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    for (unsigned i = 0; i < total; i++) {
      SendSlot& s = send_[i];
      msghdr& m = Message(mhdrs_[i], s.dst, s.iov, s.data.data(), s.data.size());
      if (s.withInfo) SetPktInfo(m, s.control, s.info);
    }
    unsigned i = 0;
    while (i < total && fd_ >= 0) {
      int sent = sendmmsg(fd_, mhdrs_ + i, total - i, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (sent < 0) {
        if (errno == EINTR) continue;
        results[i++] = -errno;  // this one failed; the rest are tried again
        continue;
      }
      for (int k = 0; k < sent; k++) results[i++] = 0;
    }
    for (; i < total; i++) results[i] = -EBADF;
    return Napi::Number::New(env, total);
  }

  // One entry of a recvmmsg/sendmmsg array: one buffer, the peer's address, no control data yet.
  static msghdr& Message(mmsghdr& h, sockaddr_in& peer, iovec& iov, uint8_t* data, size_t len) {
    iov = {data, len};
    h.msg_len = 0;
    msghdr& m = h.msg_hdr;
    m = msghdr{};
    m.msg_name = &peer;
    m.msg_namelen = sizeof peer;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    return m;
  }

  // Whether send()/queue() got (buffer, ip, port, srcIp?); throws a TypeError when not.
  static bool DatagramArgs(const Napi::CallbackInfo& info, const char* name) {
    if (info.Length() >= 3 && info[0].IsBuffer() && info[1].IsString() && info[2].IsNumber()) return true;
    Napi::TypeError::New(info.Env(), std::string(name) + "(buffer, ip, port, srcIp?)").ThrowAsJavaScriptException();
    return false;
  }

  // Attaches the IP_PKTINFO (source address, interface) a reply leaves with to `m`.
  static void SetPktInfo(msghdr& m, char (&control)[CMSG_SPACE(sizeof(in_pktinfo))], const in_pktinfo& pi) {
    memset(control, 0, sizeof control);
    m.msg_control = control;
    m.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
    memcpy(CMSG_DATA(c), &pi, sizeof pi);
  }

  // The destination of send()/queue() and the IP_PKTINFO a reply leaves with: out of the served
  // interface (also for 255.255.255.255), from srcIp when given. 0 or -EINVAL.
  int Address(const Napi::CallbackInfo& info, sockaddr_in& dst, in_pktinfo& pi, bool& withInfo) {
    std::string ip = info[1].As<Napi::String>().Utf8Value();
    int port = info[2].As<Napi::Number>().Int32Value();
    dst = sockaddr_in{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, ip.c_str(), &dst.sin_addr) != 1) return -EINVAL;
    bool hasSrc = info.Length() > 3 && info[3].IsString();
    withInfo = ifindex_ != 0 || hasSrc;
    pi = in_pktinfo{};
    pi.ipi_ifindex = ifindex_;
    if (hasSrc) {
      std::string src = info[3].As<Napi::String>().Utf8Value();
      if (inet_pton(AF_INET, src.c_str(), &pi.ipi_spec_dst) != 1) return -EINVAL;
    }
    return 0;
  }

  Napi::Value Send(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!DatagramArgs(info, "send")) return env.Undefined();
    if (fd_ < 0) return Napi::Number::New(env, -EBADF);
    Napi::Buffer<uint8_t> data = info[0].As<Napi::Buffer<uint8_t>>();
    sockaddr_in dst;
    in_pktinfo pi;
    bool withInfo;
    int rc = Address(info, dst, pi, withInfo);
    if (rc != 0) return Napi::Number::New(env, rc);
    iovec iov{data.Data(), data.Length()};
    msghdr msg{};
    msg.msg_name = &dst;
    msg.msg_namelen = sizeof dst;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))];
    if (withInfo) SetPktInfo(msg, control, pi);
    ssize_t n;
    do {
      n = sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return Napi::Number::New(env, n < 0 ? -errno : 0);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (poll_ != nullptr) {
      uv_poll_stop(poll_);
      // The fd must outlive the poll handle: close it in the close callback.
      poll_->data = reinterpret_cast<void*>(static_cast<intptr_t>(fd_));
      uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* h) {
        int fd = static_cast<int>(reinterpret_cast<intptr_t>(h->data));
        if (fd >= 0) ::close(fd);
        delete reinterpret_cast<uv_poll_t*>(h);
      });
      poll_ = nullptr;
      fd_ = -1;
      callback_.Reset();
      meta_.Reset();
      delete context_;
      context_ = nullptr;
      Unref();
    } else {
      CloseFd();
    }
    return info.Env().Undefined();
  }

  int fd_ = -1;
  int ifindex_ = 0;
  int port_ = 0;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference callback_;
  Napi::AsyncContext* context_ = nullptr;
  // Receive side: kRecvSlots datagrams per recvmmsg, kBatch per JS call, 8 calls per wakeup at most.
  static constexpr unsigned kRecvSlots = 32;
  static constexpr unsigned kBatch = 64;
  static constexpr unsigned kMeta = 6;  // numbers per datagram in meta_
  Napi::Reference<Napi::Float64Array> meta_;
  std::vector<uint8_t> staged_;  // one batch's bytes, copied into the Buffer JS gets
  struct RecvSlot {
    sockaddr_in src{};
    iovec iov{};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo)) + CMSG_SPACE(sizeof(timespec))];
    uint8_t data[9216];  // a jumbo frame's payload
  };
  RecvSlot recv_[kRecvSlots];
  mmsghdr hdrs_[kRecvSlots];  // recvmmsg's array: each entry points into its slot
  // Send side: replies queued with queue() until flush() sends them with one sendmmsg.
  static constexpr unsigned kSendSlots = 64;
  struct SendSlot {
    std::vector<uint8_t> data;
    sockaddr_in dst{};
    in_pktinfo info{};
    bool withInfo = false;
    iovec iov{};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))];
  };
  SendSlot send_[kSendSlots];
  mmsghdr mhdrs_[kSendSlots];
  unsigned queued_ = 0;
};

// The lease journal's write + fdatasync as one job on libuv's thread pool (Node's fs makes them two,
// each a hand-off to a pool thread and back). write(2) once at the end of the O_APPEND file; when
// it wrote everything and `sync` is set, fdatasync(2). The callback gets (errno or 0, bytes
// written); a short write is not synced (the caller writes the rest and syncs then).
class AppendWorker : public Napi::AsyncWorker {
 public:
  AppendWorker(Napi::Function cb, int fd, Napi::Buffer<uint8_t> data, bool sync)
      : Napi::AsyncWorker(cb, "hearth_journal_append"), fd_(fd), sync_(sync), data_(data.Data()), len_(data.Length()), keep_(Napi::Persistent(data)) {}

  void Execute() override {
    ssize_t n;
    do {
      n = ::write(fd_, data_, len_);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      err_ = errno;
      return;
    }
    written_ = static_cast<size_t>(n);
    if (sync_ && written_ == len_) {
      int rc;
      do {
        rc = fdatasync(fd_);
      } while (rc < 0 && errno == EINTR);
      if (rc < 0) err_ = errno;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Callback().Call({Napi::Number::New(env, err_), Napi::Number::New(env, static_cast<double>(written_))});
  }

 private:
  int fd_;
  bool sync_;
  uint8_t* data_;
  size_t len_;
  Napi::Reference<Napi::Buffer<uint8_t>> keep_;  // the bytes stay alive while the pool thread writes them
  int err_ = 0;
  size_t written_ = 0;
};

Napi::Value AppendDurably(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsBuffer() || !info[3].IsFunction()) {
    Napi::TypeError::New(env, "appendDurably(fd, buffer, sync, callback)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* w = new AppendWorker(info[3].As<Napi::Function>(), info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Buffer<uint8_t>>(), info[2].ToBoolean().Value());
  w->Queue();
  return env.Undefined();
}

Napi::Object InitAll(Napi::Env env, Napi::Object exports) {
  exports.Set("appendDurably", Napi::Function::New(env, AppendDurably, "appendDurably"));
  return UdpSocket::Init(env, exports);
}

}  // namespace

NODE_API_MODULE(hearth_udp, InitAll)
