// A libuv poll watcher owned by one addon object, with the descriptor it watches: opened on the
// event loop of a N-API env, and closed together with the descriptor (the descriptor must outlive
// the watcher, so it is closed in libuv's close callback). Used by sendfile.cc and tftp_socket.cc.
#pragma once
#include <node_api.h>
#include <unistd.h>
#include <uv.h>

#include <cstdint>

namespace hearth {

class PollHandle {
 public:
  // Starts watching `fd` (not yet started for events); `owner` is what callbacks get as data.
  // 0, or a libuv error code.
  int Open(napi_env env, int fd, void* owner) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return UV_EINVAL;
    auto* h = new uv_poll_t;
    int rc = uv_poll_init_socket(loop, h, fd);
    if (rc != 0) {
      delete h;
      return rc;
    }
    h->data = owner;
    h_ = h;
    fd_ = fd;
    return 0;
  }

  bool open() const { return h_ != nullptr; }
  uv_poll_t* get() const { return h_; }

  // Stops watching and closes the watcher, then the descriptor once libuv has let go of the
  // watcher. Nothing of the owner is touched afterwards. Safe to call twice.
  void Close() {
    if (h_ == nullptr) return;
    uv_poll_stop(h_);
    h_->data = reinterpret_cast<void*>(static_cast<intptr_t>(fd_));
    uv_close(reinterpret_cast<uv_handle_t*>(h_), [](uv_handle_t* h) {
      int fd = static_cast<int>(reinterpret_cast<intptr_t>(h->data));
      if (fd >= 0) ::close(fd);
      delete reinterpret_cast<uv_poll_t*>(h);
    });
    h_ = nullptr;
    fd_ = -1;
  }

 private:
  uv_poll_t* h_ = nullptr;
  int fd_ = -1;
};

}  // namespace hearth
