// hearth_sendfile: zero-copy file bodies for the netboot HTTP server.
//
// Node streams a file to a socket by reading it into a buffer and writing the buffer (two copies
// and a thread-pool round trip per chunk). sendfile(2) moves page-cache pages to the socket in
// the kernel. Node's TCP sockets are non-blocking, so sendfile sends what fits in the socket's
// buffer and says EAGAIN; the caller then waits until the socket is writable again. That wait is
// a uv_poll on a dup() of the socket's fd (libuv allows one watcher per fd, and the original
// belongs to Node's TCP handle; epoll tells the two fds apart, the socket is the same).
//
// JS API (see src/netboot/http/sendfile.ts):
//   sendfile(socketFd, fileFd, offset, count) -> bytes sent (> 0), 0 at end of file, or -errno
//   const w = new WritableWait(socketFd);   // dup()s the fd
//   w.wait(cb);                             // cb(status) once the socket is writable (status < 0: error)
//   w.close();                              // stops waiting, closes the dup (always call it)
#include <napi.h>
#include <uv.h>

#include <cerrno>
#include <sys/sendfile.h>
#include <unistd.h>

namespace {

Napi::Value SendFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber()) {
    Napi::TypeError::New(env, "sendfile(socketFd, fileFd, offset, count)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int out = info[0].As<Napi::Number>().Int32Value();
  int in = info[1].As<Napi::Number>().Int32Value();
  off_t offset = static_cast<off_t>(info[2].As<Napi::Number>().Int64Value());
  int64_t count = info[3].As<Napi::Number>().Int64Value();
  if (out < 0 || in < 0 || offset < 0 || count <= 0) {
    Napi::RangeError::New(env, "sendfile: bad descriptor, offset or count").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  ssize_t n;
  do {
    n = sendfile(out, in, &offset, static_cast<size_t>(count));
  } while (n < 0 && errno == EINTR);
  return Napi::Number::New(env, n < 0 ? -errno : static_cast<double>(n));
}

class WritableWait : public Napi::ObjectWrap<WritableWait> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "WritableWait", {InstanceMethod("wait", &WritableWait::Wait), InstanceMethod("close", &WritableWait::Close)});
  }

  explicit WritableWait(const Napi::CallbackInfo& info) : Napi::ObjectWrap<WritableWait>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) {
      Napi::TypeError::New(env, "WritableWait(socketFd)").ThrowAsJavaScriptException();
      return;
    }
    fd_ = fcntl_dup(info[0].As<Napi::Number>().Int32Value());
    if (fd_ < 0) {
      Napi::Error::New(env, "WritableWait: dup failed").ThrowAsJavaScriptException();
      return;
    }
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init_socket(loop, &poll_, fd_) != 0) {
      ::close(fd_);
      fd_ = -1;
      Napi::Error::New(env, "WritableWait: cannot watch the socket").ThrowAsJavaScriptException();
      return;
    }
    poll_.data = this;
    open_ = true;
    Ref();  // alive until the poll handle is closed
  }

 private:
  static int fcntl_dup(int fd) { return fd < 0 ? -1 : ::dup(fd); }

  Napi::Value Wait(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!open_) {
      Napi::Error::New(env, "WritableWait: closed").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (info.Length() < 1 || !info[0].IsFunction()) {
      Napi::TypeError::New(env, "wait(callback)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    cb_ = Napi::Persistent(info[0].As<Napi::Function>());
    int r = uv_poll_start(&poll_, UV_WRITABLE | UV_DISCONNECT, OnPoll);
    if (r != 0) {
      cb_.Reset();
      return Napi::Number::New(env, r);
    }
    return Napi::Number::New(env, 0);
  }

  static void OnPoll(uv_poll_t* h, int status, int /*events*/) {
    auto* self = static_cast<WritableWait*>(h->data);
    uv_poll_stop(h);
    if (self->cb_.IsEmpty()) return;
    Napi::Env env = self->cb_.Env();
    Napi::HandleScope scope(env);
    Napi::FunctionReference cb = std::move(self->cb_);
    self->cb_.Reset();
    // MakeCallback: runs the microtask queue afterwards, as libuv callbacks into JS must.
    cb.MakeCallback(env.Global(), {Napi::Number::New(env, status)});
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    if (open_) {
      open_ = false;
      cb_.Reset();
      uv_poll_stop(&poll_);
      uv_close(reinterpret_cast<uv_handle_t*>(&poll_), OnClosed);
    }
    return info.Env().Undefined();
  }

  static void OnClosed(uv_handle_t* h) {
    auto* self = static_cast<WritableWait*>(h->data);
    ::close(self->fd_);
    self->fd_ = -1;
    self->Unref();
  }

  int fd_ = -1;
  bool open_ = false;
  uv_poll_t poll_{};
  Napi::FunctionReference cb_;
};

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sendfile", Napi::Function::New(env, SendFile));
  exports.Set("WritableWait", WritableWait::Init(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(hearth_sendfile, Init)
