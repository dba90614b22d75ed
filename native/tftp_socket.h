// The socket of one TFTP transfer; see tftp_socket.cc.
#pragma once
#include <napi.h>
#include <netinet/in.h>
#include <sys/uio.h>
#include <uv.h>

#include "poll_handle.h"

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
  int SendWindow();
  bool ServeAck(int block);
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
  Napi::AsyncContext* context_ = nullptr;

  // Lock-step (and windowed) sending of an in-memory file without a JS call per ACK; see Serve().
  bool serving_ = false;
  Napi::Reference<Napi::Buffer<uint8_t>> data_;
  Napi::Reference<Napi::Float64Array> stateRef_;
  const uint8_t* bytes_ = nullptr;
  size_t size_ = 0;
  size_t blksize_ = 512;
  int64_t window_ = 1;
  int64_t lastBlock_ = 0;
  int64_t base_ = 1;
  double* state_ = nullptr;  // [base, lastProgress ms, lastSend ms, duplicate ACKs, send errors]
};

}  // namespace hearth
