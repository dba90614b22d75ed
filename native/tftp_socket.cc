// The socket of one TFTP transfer (its transfer ID), for lock-step speed.
//
// A lock-step transfer is one ACK in, one DATA out, per block. Through node:dgram each ACK costs a
// 64 KiB receive buffer, a Buffer, an address object and string, an event, and each DATA a trip
// through dgram.send's argument handling; this socket reads a well-formed ACK from the transfer's
// peer and hands JS just its block number, and sends DATA to the peer's cached address (one
// sendmsg, header and payload as two pieces, no copy). Anything else (another opcode, another
// sender, another size) goes to JS whole, as dgram would deliver it.
//
// For a file in memory, serve() hands the whole send loop to a serving thread (tftp_engine.h): on
// each ACK from the peer that moves the window it sends the next window itself (header and a view
// of the file's bytes, sendmmsg for a window of several blocks), on another core than the event
// loop's when there is one, so JS sees no call per block, only the final ACK and any other
// datagram. sync(state) copies its progress into a Float64Array when JS needs it (its
// retransmission timer, the slot table): [base, last progress ms, last send ms (Date.now()
// clock), duplicate ACKs, failed sends]. Retransmission stays JS's decision (resend()).
//
// JS API (see src/netboot/tftp/socket.ts):
//   const s = new TftpSocket(address, sndbuf);  // bound to address:0 (s.port)
//   s.peer(ip, port);                           // where send() and sendParts() go
//   s.start(onAck(block), onOther(data, ip, port), onDropped(foreign, fromPeer));
//   s.send(buf) / s.sendParts(head, body) / s.sendTo(buf, ip, port) -> 0 or -errno
//   s.serve(data, blksize, window, lastBlock, base, lastProgress)  // its serving thread sends the window at base
//   s.resend() -> 0 or -errno (the window at base again)
//   s.sync(state)                                   // state: Float64Array(5), see above
//   s.close();
#include "tftp_socket.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <utility>

namespace hearth {

namespace {
// One receive buffer for all transfer sockets: they are all read on the event loop's thread.
uint8_t recvBuf[65536];

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
                         InstanceMethod("sync", &TftpSocket::Sync),
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
  if (served_) StopServing();
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
  if (info.Length() < 3 || !info[0].IsFunction() || !info[1].IsFunction() || !info[2].IsFunction()) {
    Napi::TypeError::New(env, "start(onAck, onOther, onDropped)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  onAck_ = Napi::Persistent(info[0].As<Napi::Function>());
  onOther_ = Napi::Persistent(info[1].As<Napi::Function>());
  onDropped_ = Napi::Persistent(info[2].As<Napi::Function>());
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
  for (int i = 0; i < 64 && fd_ >= 0 && !served_; i++) {  // once served, its serving thread reads it
    sockaddr_in src{};
    socklen_t slen = sizeof src;
    ssize_t len = recvfrom(fd_, recvBuf, sizeof recvBuf, MSG_DONTWAIT | MSG_TRUNC, reinterpret_cast<sockaddr*>(&src), &slen);
    if (len < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN: drained; other errors (ICMP-triggered) are transient for UDP
    }
    bool fromPeer = hasPeer_ && src.sin_addr.s_addr == peer_.sin_addr.s_addr && src.sin_port == peer_.sin_port;
    bool ack = fromPeer && len == 4 && recvBuf[0] == 0 && recvBuf[1] == 4;
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

// serve(data, blksize, window, lastBlock, base, lastProgress): from now on a serving thread answers the peer's
// ACKs from `data` (kept referenced, never written), until the ACK of `lastBlock`, which goes to JS
// (as does any other datagram, through the wake-up handle).
Napi::Value TftpSocket::Serve(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!hasPeer_ || !poll_.open() || served_ || info.Length() < 6 || !info[0].IsBuffer() || !info[1].IsNumber() ||
      !info[2].IsNumber() || !info[3].IsNumber() || !info[4].IsNumber() || !info[5].IsNumber()) {
    Napi::TypeError::New(env, "serve(data, blksize, window, lastBlock, base, lastProgress) once, after start()").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto data = info[0].As<Napi::Buffer<uint8_t>>();
  int64_t blksize = info[1].As<Napi::Number>().Int64Value();
  int64_t window = info[2].As<Napi::Number>().Int64Value();
  int64_t lastBlock = info[3].As<Napi::Number>().Int64Value();
  int64_t base = info[4].As<Napi::Number>().Int64Value();
  if (blksize < 8 || blksize > 65464 || window < 1 || window > 65535 || base < 1 || lastBlock < base ||
      static_cast<uint64_t>(lastBlock - 1) * static_cast<uint64_t>(blksize) > data.Length()) {
    Napi::RangeError::New(env, "serve: arguments out of range").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
    Napi::Error::New(env, "serve: no event loop").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* wake = new uv_async_t;
  if (uv_async_init(loop, wake, &TftpSocket::OnWake) != 0) {
    delete wake;
    Napi::Error::New(env, "serve: cannot create its wake-up handle").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  wake->data = this;
  wake_ = wake;
  data_ = Napi::Persistent(data);
  auto t = std::make_shared<ServedTransfer>();
  t->fd = fd_;
  t->peer = peer_;
  t->bytes = data.Data();
  t->size = data.Length();
  t->blksize = static_cast<size_t>(blksize);
  t->window = window;
  t->lastBlock = lastBlock;
  t->base = base;
  t->progress = info[5].As<Napi::Number>().DoubleValue();
  t->wake = wake;
  uv_poll_stop(poll_.get());  // the serving thread reads the socket from now on
  {
    std::lock_guard<std::mutex> l(t->mu);
    t->active = true;
  }
  served_ = t;
  int added = ServeEngines::Get()->Add(t);  // which sends the window at `base`
  if (added != 0) {
    StopServing();
    Napi::Error::New(env, std::string("serve: cannot hand the transfer to a serving thread: ") + strerror(-added)).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return env.Undefined();
}

Napi::Value TftpSocket::Resend(const Napi::CallbackInfo& info) {
  int rc = -EINVAL;
  if (served_) {
    std::lock_guard<std::mutex> l(served_->mu);
    if (served_->active && !served_->finished) rc = served_->SendWindow();
  }
  return Napi::Number::New(info.Env(), rc);
}

// sync(state): the serving thread's progress, copied into `state` (left as it is once the socket is closed).
Napi::Value TftpSocket::Sync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[0].As<Napi::Float64Array>().ElementLength() < kStateLen) {
    Napi::TypeError::New(env, "sync(Float64Array(5))").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (!served_) return env.Undefined();
  double* st = info[0].As<Napi::Float64Array>().Data();
  std::lock_guard<std::mutex> l(served_->mu);
  st[kBase] = static_cast<double>(served_->base);
  st[kProgress] = served_->progress;
  st[kLastSend] = served_->lastSend;
  st[kDupAcks] = served_->dups;
  st[kSendErrors] = served_->sendErrors;
  return env.Undefined();
}

// On the loop's thread: hands JS what the serving thread queued (other datagrams, then the final ACK).
void TftpSocket::OnWake(uv_async_t* handle) {
  auto* self = static_cast<TftpSocket*>(handle->data);
  if (self == nullptr || !self->served_ || self->fd_ < 0) return;
  std::vector<ServedTransfer::Other> others;
  bool final = false;
  int block = 0;
  int foreign, fromPeer;
  {
    std::lock_guard<std::mutex> l(self->served_->mu);
    others.swap(self->served_->others);
    foreign = std::exchange(self->served_->droppedForeign, 0);
    fromPeer = std::exchange(self->served_->droppedPeer, 0);
    if (self->served_->finished && self->served_->finalBlock >= 0) {
      final = true;
      block = self->served_->finalBlock;
      self->served_->finalBlock = -1;  // delivered once
    }
  }
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  if (foreign > 0 || fromPeer > 0) {
    self->onDropped_.MakeCallback(self->Value(), {Napi::Number::New(env, foreign), Napi::Number::New(env, fromPeer)}, *self->context_);
    if (env.IsExceptionPending()) {
      napi_fatal_exception(env, env.GetAndClearPendingException().Value());
      return;
    }
  }
  for (auto& o : others) {
    if (self->fd_ < 0) return;  // closed by a callback
    char ip[INET_ADDRSTRLEN] = "";
    inet_ntop(AF_INET, &o.from.sin_addr, ip, sizeof ip);
    self->onOther_.MakeCallback(self->Value(), {Napi::Buffer<uint8_t>::Copy(env, o.data.data(), o.data.size()), Napi::String::New(env, ip), Napi::Number::New(env, ntohs(o.from.sin_port))}, *self->context_);
    if (env.IsExceptionPending()) {
      napi_fatal_exception(env, env.GetAndClearPendingException().Value());
      return;
    }
  }
  if (final && self->fd_ >= 0) {
    self->onAck_.MakeCallback(self->Value(), {Napi::Number::New(env, block)}, *self->context_);
    if (env.IsExceptionPending()) napi_fatal_exception(env, env.GetAndClearPendingException().Value());
  }
}

// Takes the transfer back from its serving thread (which then never touches it) and lets its handle go.
void TftpSocket::StopServing() {
  auto t = std::move(served_);
  {
    std::lock_guard<std::mutex> l(t->mu);
    t->active = false;
  }
  ServeEngines::Get()->Remove(t);
  data_.Reset();
  if (wake_ != nullptr) {
    wake_->data = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(wake_), [](uv_handle_t* h) { delete reinterpret_cast<uv_async_t*>(h); });
    wake_ = nullptr;
  }
}

Napi::Value TftpSocket::Close(const Napi::CallbackInfo& info) {
  if (served_) StopServing();
  if (poll_.open()) {
    poll_.Close();  // the socket too, once libuv lets go of it
    fd_ = -1;
    onAck_.Reset();
    onOther_.Reset();
    onDropped_.Reset();
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
