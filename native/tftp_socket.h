// The socket of one TFTP transfer; see tftp_socket.cc.
#pragma once
#include <napi.h>
#include <netinet/in.h>
#include <sys/uio.h>
#include <uv.h>

#include <memory>

#include "poll_handle.h"
#include "tftp_engine.h"

namespace hearth {

class TftpSocket : public Napi::ObjectWrap<TftpSocket> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit TftpSocket(const Napi::CallbackInfo& info);
  ~TftpSocket() override;

 private:
  void Fail(Napi::Env env, const char* what);
  Napi::Value Port(const Napi::CallbackInfo& info);
  Napi::Value Peer(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value SendParts(const Napi::CallbackInfo& info);
  Napi::Value SendTo(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value Serve(const Napi::CallbackInfo& info);
  Napi::Value Resend(const Napi::CallbackInfo& info);
  Napi::Value Sync(const Napi::CallbackInfo& info);
  static void OnWake(uv_async_t* handle);
  void StopServing();
  Napi::Value SendMsg(Napi::Env env, const sockaddr_in& to, iovec* iov, int n);
  static void OnReadable(uv_poll_t* handle, int status, int events);
  void Drain();

  int fd_ = -1;
  int port_ = 0;
  bool hasPeer_ = false;
  sockaddr_in peer_{};
  PollHandle poll_;
  Napi::FunctionReference onAck_;
  Napi::FunctionReference onOther_;
  Napi::FunctionReference onDropped_;
  Napi::AsyncContext* context_ = nullptr;

  // An in-memory file served by an engine thread (tftp_engine.h); see Serve().
  std::shared_ptr<ServedTransfer> served_;
  Napi::Reference<Napi::Buffer<uint8_t>> data_;  // the bytes the engine sends from
  uv_async_t* wake_ = nullptr;
};

}  // namespace hearth
