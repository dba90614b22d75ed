// hearth_sendfile: zero-copy file bodies for the netboot HTTP server.
//
// Node streams a file to a socket by reading it into a buffer and writing the buffer (two copies
// and a thread-pool round trip per chunk). sendfile(2) moves page-cache pages to the socket in
// the kernel. Node's TCP sockets are non-blocking, so sendfile sends what fits in the socket's
// buffer and says EAGAIN; the caller then waits until the socket is writable again.
//
// A Sender works on its own dup() of the socket's fd (the socket is the same): the fd number stays
// ours until close() even if Node closes its socket meanwhile (no sendfile can ever reach another
// connection that reused the number), and an engine's epoll set watches it. One Sender serves every
// response of a keep-alive connection. A response's first call runs on the event loop (sendNow),
// right after the corked headers: a small body pays no hand-over. The rest of a body goes to a
// body engine thread (http_engine.h) that sends it as the client drains the socket and wakes the
// loop once at the end: the kernel's share of the work (the TCP send path, and on a veth or
// loopback link the receive path too) runs beside the event loop, on the other core, and the loop
// stays free for other requests. A slice whose pages are not in the page cache would stall the
// loop on the disk, so it goes to the engine too (which may wait for the disk; the loop never does).
//
// JS API (see src/netboot/http/sendfile.ts):
//   const s = new Sender(socketFd);            // dup()s the fd
//   s.sendNow(fileFd, offset, count) -> n;     // n: bytes sent (> 0), 0 at end of file, -EINPROGRESS (not cached), or -errno
//   s.stream(fileFd, offset, count, cb) -> 0 or -errno;  // to an engine thread: cb(sent, 0 or -errno) once; ends uncorked
//   s.sent() -> n;                             // bytes the running stream() has sent so far
//   s.cork(on) -> 0 or -errno;                 // TCP_CORK: headers and first body bytes in one packet
//   s.corked() -> true, false, or -errno;      // whether TCP_CORK is on now (tests, diagnostics)
//   s.close();                                 // cancels a stream(), closes the dup once it is over
//
// The same addon carries the TFTP transfer socket (tftp_socket.cc): one native module for the
// netboot data paths.
#include <napi.h>
#include <uv.h>

#include "http_engine.h"
#include "tftp_socket.h"

#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace {

// The event loop's end of the body engines (http_engine.h): one uv_async handle for every job,
// opened on first use (unref'd: a job in flight keeps its socket, and so the loop, alive).
void OnBodiesDone(uv_async_t* h);

uv_async_t* BodiesWake(Napi::Env env) {
  static uv_async_t* wake = nullptr;
  if (wake != nullptr) return wake;
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return nullptr;
  auto* h = new uv_async_t;
  if (uv_async_init(loop, h, OnBodiesDone) != 0) {
    delete h;
    return nullptr;
  }
  uv_unref(reinterpret_cast<uv_handle_t*>(h));
  h->data = env;
  wake = h;
  hearth::BodyEngines::Get()->SetWake(h);
  return wake;
}

class Sender : public Napi::ObjectWrap<Sender> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Sender",
                       {InstanceMethod("stream", &Sender::Stream), InstanceMethod("sent", &Sender::Sent), InstanceMethod("sendNow", &Sender::SendNow), InstanceMethod("cork", &Sender::Cork), InstanceMethod("corked", &Sender::Corked),
                        InstanceMethod("close", &Sender::Close)});
  }

  explicit Sender(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Sender>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber() || info[0].As<Napi::Number>().Int32Value() < 0) {
      Napi::TypeError::New(env, "Sender(socketFd)").ThrowAsJavaScriptException();
      return;
    }
    fd_ = ::dup(info[0].As<Napi::Number>().Int32Value());
    if (fd_ < 0) {
      Napi::Error::New(env, "Sender: dup failed").ThrowAsJavaScriptException();
      return;
    }
    open_ = true;
    Ref();  // alive until closed (an engine's completion calls back into it)
  }

  // The engine is done with the body (all sent, failed, or cancelled): calls back with (sent,
  // -errno or 0); a close() asked for meanwhile happens now.
  void BodyDone(const hearth::BodyJobPtr& job) {
    busy_ = false;
    job_.reset();
    Napi::FunctionReference cb = std::move(bodyCb_);
    bodyCb_.Reset();
    if (closing_) Shut();
    if (cb.IsEmpty()) return;
    Napi::Env env = cb.Env();
    Napi::HandleScope scope(env);
    cb.MakeCallback(env.Global(), {Napi::Number::New(env, job->sent.load()), Napi::Number::New(env, -job->error)});
  }

 private:
  // The (fileFd, offset, count[, callback]) of send and sendNow, checked; false after throwing.
  bool Slice(const Napi::CallbackInfo& info, const char* usage, bool withCallback, int* in, off_t* offset, size_t* count) {
    Napi::Env env = info.Env();
    if (!open_ || closing_ || busy_) {
      Napi::Error::New(env, "Sender: closed, or a send is running").ThrowAsJavaScriptException();
      return false;
    }
    size_t want = withCallback ? 4 : 3;
    if (info.Length() < want || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() || (withCallback && !info[3].IsFunction())) {
      Napi::TypeError::New(env, usage).ThrowAsJavaScriptException();
      return false;
    }
    int fd = info[0].As<Napi::Number>().Int32Value();
    int64_t off = info[1].As<Napi::Number>().Int64Value();
    int64_t n = info[2].As<Napi::Number>().Int64Value();
    if (fd < 0 || off < 0 || n <= 0) {
      Napi::RangeError::New(env, "bad descriptor, offset or count").ThrowAsJavaScriptException();
      return false;
    }
    *in = fd;
    *offset = static_cast<off_t>(off);
    *count = static_cast<size_t>(n);
    return true;
  }

  // Hands the slice to a body engine thread, which sends it as the socket drains and calls back
  // once: cb(sent, 0 or -errno). sent() reads the bytes sent so far. The thread may wait for the
  // disk; the event loop never does.
  Napi::Value Stream(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int in;
    off_t offset;
    size_t count;
    if (!Slice(info, "stream(fileFd, offset, count, callback)", true, &in, &offset, &count)) return env.Undefined();
    auto* engines = hearth::BodyEngines::Get();
    if (BodiesWake(env) == nullptr || !engines->ready()) {
      Napi::Error::New(env, "Sender: no body engine").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto job = std::make_shared<hearth::BodyJob>();
    job->out = fd_;
    job->in = in;
    job->offset = offset;
    job->left = count;
    job->owner = this;
    job->engine = engine_;
    int r = engines->Start(job);
    if (r < 0) return Napi::Number::New(env, r);
    engine_ = job->engine;
    job_ = job;
    busy_ = true;
    bodyCb_ = Napi::Persistent(info[3].As<Napi::Function>());
    return Napi::Number::New(env, 0);
  }

  // Bytes the running stream() has sent so far (0 when none runs).
  Napi::Value Sent(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), job_ ? job_->sent.load() : 0); }

  // sendfile(2) right here on the event loop: the socket is non-blocking, so one call moves at most
  // what its send buffer takes and returns (nginx's model). Bytes sent (> 0), 0 at end of file,
  // -EINPROGRESS when the slice's first or last byte is not in the page cache (the read would wait
  // for the disk and stall the loop: stream() it on an engine thread instead), or -errno.
  Napi::Value SendNow(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    int in;
    off_t off;
    size_t count;
    if (!Slice(info, "sendNow(fileFd, offset, count)", false, &in, &off, &count)) return env.Undefined();
    if (!Cached(in, off) || !Cached(in, off + static_cast<off_t>(count) - 1)) return Napi::Number::New(env, -EINPROGRESS);
    ssize_t n;
    do {
      n = sendfile(fd_, in, &off, count);
    } while (n < 0 && errno == EINTR);
    return Napi::Number::New(env, n < 0 ? -errno : static_cast<double>(n));
  }

  // Whether the byte at `off` of file `in` is in the page cache (a read would not wait for the
  // disk): a one-byte preadv2(RWF_NOWAIT). An error other than EAGAIN (no RWF_NOWAIT on this
  // kernel or file system) counts as cached: sendfile then reports the real error, if any.
  static bool Cached(int in, off_t off) {
    char b;
    struct iovec v = {&b, 1};
    ssize_t r;
    do {
      r = preadv2(in, &v, 1, off, RWF_NOWAIT);
    } while (r < 0 && errno == EINTR);
    return r >= 0 || errno != EAGAIN;
  }

  // TCP_CORK on (true) or off: while on, the kernel holds partial segments, so the response's
  // headers leave in the same packet as the first body bytes (nginx's tcp_nopush). 0 or -errno.
  Napi::Value Cork(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!open_ || closing_) return Napi::Number::New(env, -EBADF);
    int on = info.Length() > 0 && info[0].ToBoolean().Value() ? 1 : 0;
    int r = setsockopt(fd_, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
    return Napi::Number::New(env, r < 0 ? -errno : 0);
  }

  // Whether TCP_CORK is on now: true or false, or -errno.
  Napi::Value Corked(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!open_ || closing_) return Napi::Number::New(env, -EBADF);
    int on = 0;
    socklen_t len = sizeof on;
    if (getsockopt(fd_, IPPROTO_TCP, TCP_CORK, &on, &len) < 0) return Napi::Number::New(env, -errno);
    return Napi::Boolean::New(env, on != 0);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (open_ && !closing_) {
      closing_ = true;
      if (job_) hearth::BodyEngines::Get()->Cancel(job_);
      if (!busy_) Shut();
    }
    return info.Env().Undefined();
  }

  // Closes the duplicate (nothing runs on it any more).
  void Shut() {
    if (!open_) return;
    open_ = false;
    ::close(fd_);
    fd_ = -1;
    Unref();
  }

  int fd_ = -1;
  bool open_ = false;
  bool closing_ = false;
  bool busy_ = false;
  hearth::BodyJobPtr job_;  // the body a stream() runs
  Napi::FunctionReference bodyCb_;
  void* engine_ = nullptr;  // the engine this connection's bodies go to
};

void OnBodiesDone(uv_async_t* /*h*/) {
  for (auto& job : hearth::BodyEngines::Get()->TakeDone()) static_cast<Sender*>(job->owner)->BodyDone(job);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Sender", Sender::Init(env));
  exports.Set("TftpSocket", hearth::TftpSocket::Init(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(hearth_sendfile, Init)
