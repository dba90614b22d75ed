// hearth_sendfile: zero-copy file bodies for the netboot HTTP server.
//
// Node streams a file to a socket by reading it into a buffer and writing the buffer (two copies
// and a thread-pool round trip per chunk). sendfile(2) moves page-cache pages to the socket in
// the kernel. Node's TCP sockets are non-blocking, so sendfile sends what fits in the socket's
// buffer and says EAGAIN; the caller then waits until the socket is writable again.
//
// A Sender works on its own dup() of the socket's fd, for two reasons: libuv allows one watcher
// per fd (the original belongs to Node's TCP handle; epoll tells the two fds apart, the socket is
// the same), and the fd number stays ours until close() even if Node closes its socket meanwhile
// (no sendfile can ever reach another connection that reused the number). One Sender serves every
// response of a keep-alive connection. A response's first call runs on the event loop (sendNow),
// as nginx's workers run it: the socket's buffer bounds it, and a body that fits pays no
// thread-pool round trip. The rest of a body, sent as the client drains the socket, runs on the
// libuv thread pool (send): the kernel's share of the work (the TCP send path, and on a veth or
// loopback link the receive path too) then runs beside the event loop, on the other core. A slice
// whose pages are not in the page cache would stall the loop on the disk, so it goes to the pool.
//
// JS API (see src/netboot/http/sendfile.ts):
//   const s = new Sender(socketFd);            // dup()s the fd
//   s.sendNow(fileFd, offset, count) -> n;     // n: bytes sent (> 0), 0 at end of file, -EINPROGRESS (not cached), or -errno
//   s.send(fileFd, offset, count, cb);         // the same on the thread pool: cb(n)
//   s.cork(on) -> 0 or -errno;                 // TCP_CORK: headers and first body bytes in one packet
//   s.wait(cb) -> 0 or -errno;                 // cb(status) once the socket is writable (status < 0: error)
//   s.close();                                 // stops waiting, closes the dup once no send runs
//
// The same addon carries the TFTP transfer socket (tftp_socket.cc): one native module for the
// netboot data paths.
#include <napi.h>
#include <uv.h>

#include "poll_handle.h"
#include "tftp_socket.h"

#include <cerrno>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

namespace {

class Sender;

class SendWork : public Napi::AsyncWorker {
 public:
  SendWork(Napi::Function cb, Sender* owner, int out, int in, off_t offset, size_t count)
      : Napi::AsyncWorker(cb), owner_(owner), out_(out), in_(in), offset_(offset), count_(count) {}

  void Execute() override {
    ssize_t n;
    do {
      n = sendfile(out_, in_, &offset_, count_);
    } while (n < 0 && errno == EINTR);
    result_ = n < 0 ? -errno : static_cast<double>(n);
  }

  void OnOK() override;

 private:
  Sender* owner_;
  int out_;
  int in_;
  off_t offset_;
  size_t count_;
  double result_ = 0;
};

class Sender : public Napi::ObjectWrap<Sender> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "Sender",
                       {InstanceMethod("send", &Sender::Send), InstanceMethod("sendNow", &Sender::SendNow), InstanceMethod("cork", &Sender::Cork),
                        InstanceMethod("wait", &Sender::Wait), InstanceMethod("close", &Sender::Close)});
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
    if (poll_.Open(env, fd_, this) != 0) {
      ::close(fd_);
      fd_ = -1;
      Napi::Error::New(env, "Sender: cannot watch the socket").ThrowAsJavaScriptException();
      return;
    }
    open_ = true;
    Ref();  // alive until the poll handle is closed
  }

  // A send finished: a close() asked for meanwhile happens now.
  void SendDone() {
    busy_ = false;
    if (closing_) Shut();
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

  Napi::Value Send(const Napi::CallbackInfo& info) {
    int in;
    off_t offset;
    size_t count;
    if (!Slice(info, "send(fileFd, offset, count, callback)", true, &in, &offset, &count)) return info.Env().Undefined();
    busy_ = true;
    auto* work = new SendWork(info[3].As<Napi::Function>(), this, fd_, in, offset, count);
    work->Queue();  // deletes itself after OnOK
    return info.Env().Undefined();
  }

  // sendfile(2) right here on the event loop: the socket is non-blocking, so one call moves at most
  // what its send buffer takes and returns (nginx's model). Bytes sent (> 0), 0 at end of file,
  // -EINPROGRESS when the slice's first or last byte is not in the page cache (the read would wait
  // for the disk and stall the loop: send() it on the thread pool instead), or -errno.
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

  Napi::Value Wait(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!open_ || closing_) {
      Napi::Error::New(env, "Sender: closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "wait(callback)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    waiter_ = Napi::Persistent(info[0].As<Napi::Function>());
    int r = uv_poll_start(poll_.get(), UV_WRITABLE | UV_DISCONNECT, OnPoll);
    if (r != 0) waiter_.Reset();
    return Napi::Number::New(env, r);
  }

  static void OnPoll(uv_poll_t* h, int status, int /*events*/) {
    auto* self = static_cast<Sender*>(h->data);
    uv_poll_stop(h);
    if (self->waiter_.IsEmpty()) return;
    Napi::Env env = self->waiter_.Env();
    Napi::HandleScope scope(env);
    Napi::FunctionReference cb = std::move(self->waiter_);
    self->waiter_.Reset();
    // MakeCallback: runs the microtask queue afterwards, as libuv callbacks into JS must.
    cb.MakeCallback(env.Global(), {Napi::Number::New(env, status)});
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (open_ && !closing_) {
      closing_ = true;
      waiter_.Reset();
      uv_poll_stop(poll_.get());
      if (!busy_) Shut();
    }
    return info.Env().Undefined();
  }

  // Closes the watcher and the duplicate (nothing runs on them any more).
  void Shut() {
    if (!open_) return;
    open_ = false;
    poll_.Close();
    fd_ = -1;
    Unref();
  }

  int fd_ = -1;
  bool open_ = false;
  bool closing_ = false;
  bool busy_ = false;
  hearth::PollHandle poll_;
  Napi::FunctionReference waiter_;
};

void SendWork::OnOK() {
  Napi::Env env = Env();
  owner_->SendDone();
  Callback().Call({Napi::Number::New(env, result_)});
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("Sender", Sender::Init(env));
  exports.Set("TftpSocket", hearth::TftpSocket::Init(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(hearth_sendfile, Init)
