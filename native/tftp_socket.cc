// The socket of one TFTP transfer (its transfer ID), for lock-step speed.
//
// A lock-step transfer is one ACK in, one DATA out, per block. Through node:dgram each ACK costs a
// 64 KiB receive buffer, a Buffer, an address object and string, an event, and each DATA a trip
// through dgram.send's argument handling; this socket reads a well-formed ACK from the transfer's
// peer and hands JS just its block number, and sends DATA to the peer's cached address (one
// sendmsg, header and payload as two pieces, no copy). Anything else (another opcode, another
// sender, another size) goes to JS whole, as dgram would deliver it.
//
// For a file in memory, serve() hands the whole send loop to this socket: on each ACK from the
// peer that moves the window it sends the next window itself (header and a view of the file's
// bytes, sendmmsg for a window of several blocks), so JS sees no call per block, only the final
// ACK. It keeps its progress in a Float64Array JS reads when it needs to (its retransmission
// timer, the slot table): [base, last progress ms, last send ms (Date.now() clock), duplicate
// ACKs, failed sends]. Retransmission stays JS's decision (resend()).
//
// JS API (see src/netboot/tftp/socket.ts):
//   const s = new TftpSocket(address, sndbuf);  // bound to address:0 (s.port)
//   s.peer(ip, port);                           // where send() and sendParts() go
//   s.start(onAck(block), onOther(data, ip, port));
//   s.send(buf) / s.sendParts(head, body) / s.sendTo(buf, ip, port) -> 0 or -errno
//   s.serve(data, blksize, window, lastBlock, base, state) -> 0 or -errno (sends the window at base)
//   s.resend() -> 0 or -errno (the window at base again)
//   s.close();
#include "tftp_socket.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

namespace hearth {

namespace {
// One receive buffer for all transfer sockets: they are all read on the event loop's thread.
uint8_t recvBuf[65536];

// Most DATA packets handed to one sendmmsg call.
constexpr int kBatch = 64;

// Milliseconds on Date.now()'s clock.
double NowMs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec / 1000000);
}

enum State { kBase = 0, kProgress = 1, kLastSend = 2, kDupAcks = 3, kSendErrors = 4, kStateLen = 5 };
}  // namespace

Napi::Function TftpSocket::Init(Napi::Env env) {
  return DefineClass(env, "TftpSocket",
                     {
                         InstanceMethod("peer", &TftpSocket::Peer),
                         InstanceMethod("start", &TftpSocket::Start),
                         InstanceMethod("send", &TftpSocket::Send),
                         InstanceMethod("sendParts", &TftpSocket::SendParts),
                         InstanceMethod("sendTo", &TftpSocket::SendTo),
                         InstanceMethod("close", &TftpSocket::Close),
                         InstanceMethod("serve", &TftpSocket::Serve),
                         InstanceMethod("resend", &TftpSocket::Resend),
                         InstanceAccessor("port", &TftpSocket::Port, nullptr),
                     });
}

TftpSocket::TftpSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TftpSocket>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "TftpSocket(address, sndbuf)").ThrowAsJavaScriptException();
    return;
  }
  std::string addr = info[0].As<Napi::String>().Utf8Value();
  int sndbuf = info[1].As<Napi::Number>().Int32Value();
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  if (inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) {
    Napi::Error::New(env, "bad address " + addr).ThrowAsJavaScriptException();
    return;
  }
  fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
  if (fd_ < 0) {
    Fail(env, "socket");
    return;
  }
  if (sndbuf > 0) setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);  // best effort
  if (bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0) {
    Fail(env, "bind");
    return;
  }
  socklen_t len = sizeof sa;
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) == 0) port_ = ntohs(sa.sin_port);
}

TftpSocket::~TftpSocket() {
  if (!poll_.open() && fd_ >= 0) ::close(fd_);
}

void TftpSocket::Fail(Napi::Env env, const char* what) {
  int e = errno;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  Napi::Error err = Napi::Error::New(env, std::string(what) + ": " + strerror(e));
  err.Set("errno", Napi::Number::New(env, e));
  err.ThrowAsJavaScriptException();
}

Napi::Value TftpSocket::Port(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), port_); }

Napi::Value TftpSocket::Peer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsNumber()) {
    Napi::TypeError::New(env, "peer(ip, port)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string ip = info[0].As<Napi::String>().Utf8Value();
  peer_ = sockaddr_in{};
  peer_.sin_family = AF_INET;
  peer_.sin_port = htons(static_cast<uint16_t>(info[1].As<Napi::Number>().Int32Value()));
  if (inet_pton(AF_INET, ip.c_str(), &peer_.sin_addr) != 1) {
    Napi::Error::New(env, "bad peer address " + ip).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  hasPeer_ = true;
  return env.Undefined();
}

Napi::Value TftpSocket::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0 || poll_.open()) {
    Napi::Error::New(env, "socket closed or already started").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info.Length() < 2 || !info[0].IsFunction() || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "start(onAck, onOther)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  onAck_ = Napi::Persistent(info[0].As<Napi::Function>());
  onOther_ = Napi::Persistent(info[1].As<Napi::Function>());
  int rc = poll_.Open(env, fd_, this);
  if (rc == 0) rc = uv_poll_start(poll_.get(), UV_READABLE, &TftpSocket::OnReadable);
  if (rc != 0) {
    poll_.Close();  // and the socket: it is of no use unwatched
    fd_ = -1;
    Napi::Error::New(env, std::string("cannot watch the transfer socket: ") + uv_strerror(rc)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  context_ = new Napi::AsyncContext(env, "hearth_tftp");
  Ref();  // alive while the loop can call us
  return env.Undefined();
}

void TftpSocket::OnReadable(uv_poll_t* handle, int status, int /*events*/) {
  auto* self = static_cast<TftpSocket*>(handle->data);
  if (status < 0 || self->fd_ < 0) return;
  self->Drain();
}

// Reads what is queued (bounded per wake-up, so one busy transfer cannot hold the loop).
void TftpSocket::Drain() {
  Napi::Env env = Env();
  for (int i = 0; i < 64 && fd_ >= 0; i++) {
    sockaddr_in src{};
    socklen_t slen = sizeof src;
    ssize_t len = recvfrom(fd_, recvBuf, sizeof recvBuf, MSG_DONTWAIT | MSG_TRUNC, reinterpret_cast<sockaddr*>(&src), &slen);
    if (len < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN: drained; other errors (ICMP-triggered) are transient for UDP
    }
    bool fromPeer = hasPeer_ && src.sin_addr.s_addr == peer_.sin_addr.s_addr && src.sin_port == peer_.sin_port;
    bool ack = fromPeer && len == 4 && recvBuf[0] == 0 && recvBuf[1] == 4;
    // Handled here. The client now waits for the data just sent, so this socket is most likely
    // drained: rather than a recvfrom that says EAGAIN, leave anything else for the next wake-up
    // (the watcher is level-triggered, so nothing queued is missed).
    if (ack && serving_ && !ServeAck((recvBuf[2] << 8) | recvBuf[3])) return;
    Napi::HandleScope scope(env);
    if (ack) {
      onAck_.MakeCallback(Value(), {Napi::Number::New(env, (recvBuf[2] << 8) | recvBuf[3])}, *context_);
    } else {
      char ip[INET_ADDRSTRLEN] = "";
      inet_ntop(AF_INET, &src.sin_addr, ip, sizeof ip);
      size_t n = static_cast<size_t>(len) > sizeof recvBuf ? sizeof recvBuf : static_cast<size_t>(len);
      onOther_.MakeCallback(Value(), {Napi::Buffer<uint8_t>::Copy(env, recvBuf, n), Napi::String::New(env, ip), Napi::Number::New(env, ntohs(src.sin_port))}, *context_);
    }
    if (env.IsExceptionPending()) {
      Napi::Error e = env.GetAndClearPendingException();
      napi_fatal_exception(env, e.Value());
      return;
    }
  }
}

Napi::Value TftpSocket::SendMsg(Napi::Env env, const sockaddr_in& to, iovec* iov, int n) {
  if (fd_ < 0) return Napi::Number::New(env, -EBADF);
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr_in*>(&to);
  msg.msg_namelen = sizeof to;
  msg.msg_iov = iov;
  msg.msg_iovlen = n;
  ssize_t r;
  do {
    r = sendmsg(fd_, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (r < 0 && errno == EINTR);
  return Napi::Number::New(env, r < 0 ? -errno : 0);
}

Napi::Value TftpSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!hasPeer_ || info.Length() < 1 || !info[0].IsBuffer()) {
    Napi::TypeError::New(env, "send(buffer) after peer()").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto b = info[0].As<Napi::Buffer<uint8_t>>();
  iovec iov{b.Data(), b.Length()};
  return SendMsg(env, peer_, &iov, 1);
}

Napi::Value TftpSocket::SendParts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!hasPeer_ || info.Length() < 2 || !info[0].IsBuffer() || !info[1].IsBuffer()) {
    Napi::TypeError::New(env, "sendParts(head, body) after peer()").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto h = info[0].As<Napi::Buffer<uint8_t>>();
  auto b = info[1].As<Napi::Buffer<uint8_t>>();
  iovec iov[2] = {{h.Data(), h.Length()}, {b.Data(), b.Length()}};
  return SendMsg(env, peer_, iov, 2);
}

Napi::Value TftpSocket::SendTo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsBuffer() || !info[1].IsString() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "sendTo(buffer, ip, port)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(info[2].As<Napi::Number>().Int32Value()));
  std::string ip = info[1].As<Napi::String>().Utf8Value();
  if (inet_pton(AF_INET, ip.c_str(), &to.sin_addr) != 1) return Napi::Number::New(env, -EINVAL);
  auto b = info[0].As<Napi::Buffer<uint8_t>>();
  iovec iov{b.Data(), b.Length()};
  return SendMsg(env, to, &iov, 1);
}

// serve(data, blksize, window, lastBlock, base, state): from now on ACKs from the peer are answered
// here, from `data` (kept referenced, never written), until the ACK of `lastBlock`, which goes to JS.
Napi::Value TftpSocket::Serve(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!hasPeer_ || !poll_.open() || info.Length() < 6 || !info[0].IsBuffer() || !info[1].IsNumber() || !info[2].IsNumber() ||
      !info[3].IsNumber() || !info[4].IsNumber() || !info[5].IsTypedArray() ||
      info[5].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array) {
    Napi::TypeError::New(env, "serve(data, blksize, window, lastBlock, base, Float64Array) after start()").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto data = info[0].As<Napi::Buffer<uint8_t>>();
  auto state = info[5].As<Napi::Float64Array>();
  int64_t blksize = info[1].As<Napi::Number>().Int64Value();
  int64_t window = info[2].As<Napi::Number>().Int64Value();
  int64_t lastBlock = info[3].As<Napi::Number>().Int64Value();
  int64_t base = info[4].As<Napi::Number>().Int64Value();
  if (state.ElementLength() < kStateLen || blksize < 8 || blksize > 65464 || window < 1 || window > 65535 || base < 1 ||
      lastBlock < base || static_cast<uint64_t>(lastBlock - 1) * static_cast<uint64_t>(blksize) > data.Length()) {
    Napi::RangeError::New(env, "serve: arguments out of range").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  data_ = Napi::Persistent(data);
  stateRef_ = Napi::Persistent(state);
  bytes_ = data.Data();
  size_ = data.Length();
  blksize_ = static_cast<size_t>(blksize);
  window_ = window;
  lastBlock_ = lastBlock;
  base_ = base;
  state_ = state.Data();
  state_[kBase] = static_cast<double>(base_);
  serving_ = true;
  return Napi::Number::New(env, SendWindow());
}

Napi::Value TftpSocket::Resend(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), serving_ ? SendWindow() : -EINVAL);
}

// An ACK while serving: moves the window and sends the next one. True when it acknowledges the last block.
bool TftpSocket::ServeAck(int block) {
  int64_t inFlight = std::min(window_, lastBlock_ - base_ + 1);
  int64_t delta = (block - (base_ & 0xffff) + 0x10000) & 0xffff;
  if (delta >= inFlight) {
    state_[kDupAcks] += 1;  // a duplicate or stray block number: nothing moves
    return false;
  }
  base_ += delta + 1;
  state_[kBase] = static_cast<double>(base_);
  state_[kProgress] = NowMs();
  if (base_ > lastBlock_) {
    StopServing();
    return true;
  }
  SendWindow();
  return false;
}

// Sends blocks base..min(base + window - 1, lastBlock): a 4-byte header and a view of the data each.
int TftpSocket::SendWindow() {
  int64_t last = std::min(base_ + window_ - 1, lastBlock_);
  int rc = 0;
  for (int64_t first = base_; first <= last && fd_ >= 0;) {
    int n = static_cast<int>(std::min<int64_t>(kBatch, last - first + 1));
    uint8_t heads[kBatch][4];
    iovec iov[kBatch][2];
    mmsghdr msgs[kBatch];
    for (int i = 0; i < n; i++) {
      int64_t b = first + i;
      size_t off = static_cast<size_t>(b - 1) * blksize_;
      size_t len = std::min(blksize_, size_ - off);
      heads[i][0] = 0;
      heads[i][1] = 3;  // DATA
      heads[i][2] = static_cast<uint8_t>((b >> 8) & 0xff);
      heads[i][3] = static_cast<uint8_t>(b & 0xff);
      iov[i][0] = {heads[i], 4};
      iov[i][1] = {const_cast<uint8_t*>(bytes_ + off), len};
      msgs[i] = mmsghdr{};
      msgs[i].msg_hdr.msg_name = &peer_;
      msgs[i].msg_hdr.msg_namelen = sizeof peer_;
      msgs[i].msg_hdr.msg_iov = iov[i];
      msgs[i].msg_hdr.msg_iovlen = len > 0 ? 2 : 1;
    }
    int sent = 0;
    while (sent < n) {
      // One datagram (lock-step) goes by sendmsg: sendmmsg offers the CPU to others after each message.
      int r = n - sent == 1 ? (sendmsg(fd_, &msgs[sent].msg_hdr, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -1 : 1)
                            : sendmmsg(fd_, msgs + sent, static_cast<unsigned>(n - sent), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (r < 0) {
        if (errno == EINTR) continue;
        rc = -errno;  // a full send queue: the rest of the window is lost, as a lost datagram would be
        state_[kSendErrors] += 1;
        break;
      }
      sent += r;
    }
    if (sent < n) break;
    first += n;
  }
  state_[kLastSend] = NowMs();
  return rc;
}

void TftpSocket::StopServing() {
  serving_ = false;
  bytes_ = nullptr;
  state_ = nullptr;
  data_.Reset();
  stateRef_.Reset();
}

Napi::Value TftpSocket::Close(const Napi::CallbackInfo& info) {
  if (serving_) StopServing();
  if (poll_.open()) {
    poll_.Close();  // the socket too, once libuv lets go of it
    fd_ = -1;
    onAck_.Reset();
    onOther_.Reset();
    delete context_;
    context_ = nullptr;
    Unref();
  } else if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  return info.Env().Undefined();
}

}  // namespace hearth
