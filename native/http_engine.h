// The threads that send HTTP file bodies (see sendfile.cc): a body's bytes after its first call.
//
// A body handed to an engine is a BodyJob: the connection's own non-blocking duplicate of the
// socket, the file, the byte range. An engine thread waits on its own epoll set (edge-triggered
// EPOLLOUT on the socket); each time the socket can take more, it calls sendfile(2) until the
// socket says EAGAIN, so the kernel's send work (and, on loopback or veth, the receiver's too)
// runs on the engine's core, not the event loop's. It wakes JS once, when the body is sent, fails,
// or is cancelled, through one uv_async handle shared by every job (wakes coalesce).
//
// The socket comes corked (TCP_CORK, set by JS before the headers) and stays so while the engine
// sends: every packet leaves full, as with nginx's tcp_nopush, instead of the partial segment the
// ACK-clocked sends of an uncorked TCP_NODELAY socket push whenever the buffer is short of a full
// one (64 MiB over a veth: ~15 % fewer, fuller packets, nginx's count; see bench/README.md). The
// engine lifts the cork as the job ends, so the last bytes leave at once rather than after the
// hand-back to JS.
//
// Ownership: from Start() until the job is posted done, only its engine changes it (JS reads the
// atomic `sent`); a cancel is a request queued to the engine (its eventfd wakes it), so closing a
// connection never waits for an engine that is blocked on the disk. An engine removes a job's
// socket from its epoll set before posting it done; the job is kept alive by its Sender until JS
// has taken the completion, and by the engine's cancel list until the batch that saw it is over.
#pragma once
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace hearth {

struct BodyJob {
  // Most bytes asked of one sendfile call (the socket's buffer bounds what it takes anyway).
  static constexpr size_t kCallMax = 8 * 1024 * 1024;

  int out = -1;  // the connection's duplicate of the socket (owned by the Sender)
  int in = -1;   // the file (kept open by JS until the completion)
  off_t offset = 0;
  size_t left = 0;
  std::atomic<double> sent{0};  // bytes the socket has taken (read by JS for progress)
  int error = 0;                // errno that ended the job (0: all sent)
  bool done = false;            // engine side: posted to JS
  void* owner = nullptr;        // the Sender (touched on the event loop only)
  void* engine = nullptr;

  // Sends until the body is out, the socket is full (false) or fails; true when the job is over.
  bool Pump() {
    while (left > 0) {
      ssize_t n = sendfile(out, in, &offset, std::min(left, kCallMax));
      if (n > 0) {
        left -= static_cast<size_t>(n);
        sent.store(sent.load(std::memory_order_relaxed) + static_cast<double>(n), std::memory_order_relaxed);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return false;
      error = n == 0 ? ENODATA : errno;  // 0: the file shrank
      return true;
    }
    return true;
  }
};

using BodyJobPtr = std::shared_ptr<BodyJob>;

class BodyEngines {
 public:
  // The engines of this process, started on first use (never stopped: they wait in epoll_wait).
  // `wake` is the event loop's handle that takes completions (Done()).
  static BodyEngines* Get() {
    static BodyEngines* engines = new BodyEngines();
    return engines;
  }

  // Completions are signalled on `wake` (set once, before the first Start).
  void SetWake(uv_async_t* wake) { wake_ = wake; }
  bool ready() const { return !engines_.empty() && wake_ != nullptr; }

  // Hands `job` to an engine (`engine` pins a connection's jobs to one engine). 0 or -errno.
  int Start(const BodyJobPtr& job) {
    if (engines_.empty()) return -ENOSYS;
    if (job->engine == nullptr) job->engine = engines_[next_++ % engines_.size()].get();
    auto* e = static_cast<Engine*>(job->engine);
    {
      std::lock_guard<std::mutex> g(e->mu);
      e->live.push_back(job);
    }
    epoll_event ev{};
    ev.events = EPOLLOUT | EPOLLET;
    ev.data.ptr = job.get();
    if (epoll_ctl(e->ep, EPOLL_CTL_ADD, job->out, &ev) < 0) {
      int err = errno;
      std::lock_guard<std::mutex> g(e->mu);
      e->live.pop_back();
      return -err;
    }
    return 0;
  }

  // Asks the job's engine to stop it (it then posts it done with ECANCELED, unless it finished first).
  void Cancel(const BodyJobPtr& job) {
    auto* e = static_cast<Engine*>(job->engine);
    if (e == nullptr) return;
    {
      std::lock_guard<std::mutex> g(e->mu);
      e->cancels.push_back(job);
    }
    uint64_t one = 1;
    ssize_t r = write(e->efd, &one, sizeof one);
    (void)r;
  }

  // The jobs posted done since the last call (on the event loop).
  std::vector<BodyJobPtr> TakeDone() {
    std::vector<BodyJobPtr> out;
    std::lock_guard<std::mutex> g(doneMu_);
    out.swap(done_);
    return out;
  }

 private:
  struct Engine {
    int ep = -1;
    int efd = -1;
    BodyEngines* self = nullptr;
    std::mutex mu;
    std::vector<BodyJobPtr> cancels;
    std::vector<BodyJobPtr> live;  // jobs in the epoll set (keeps each alive while the engine may see it)
  };

  BodyEngines() {
    unsigned n = std::max(1u, std::min(4u, std::thread::hardware_concurrency()));
    for (unsigned i = 0; i < n; i++) {
      auto e = std::make_unique<Engine>();
      e->ep = epoll_create1(EPOLL_CLOEXEC);
      e->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.ptr = nullptr;
      if (e->ep < 0 || e->efd < 0 || epoll_ctl(e->ep, EPOLL_CTL_ADD, e->efd, &ev) < 0) {
        if (e->ep >= 0) ::close(e->ep);
        if (e->efd >= 0) ::close(e->efd);
        break;
      }
      e->self = this;
      pthread_t th;
      if (pthread_create(&th, nullptr, &BodyEngines::Run, e.get()) != 0) {
        ::close(e->ep);
        ::close(e->efd);
        break;
      }
      pthread_detach(th);
      engines_.push_back(std::move(e));
    }
  }

  // The job is over: out of the epoll set, its socket uncorked (the body's last partial segment
  // leaves now), then to JS. The engine does not touch it afterwards.
  void Finish(Engine* e, BodyJob* job) {
    epoll_ctl(e->ep, EPOLL_CTL_DEL, job->out, nullptr);
    int off = 0;
    setsockopt(job->out, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
    job->done = true;
    BodyJobPtr held;
    {
      std::lock_guard<std::mutex> g(e->mu);
      auto it = std::find_if(e->live.begin(), e->live.end(), [job](const BodyJobPtr& p) { return p.get() == job; });
      if (it != e->live.end()) {
        held = std::move(*it);
        *it = std::move(e->live.back());
        e->live.pop_back();
      }
    }
    {
      std::lock_guard<std::mutex> g(doneMu_);
      done_.push_back(std::move(held));
    }
    uv_async_send(wake_);
  }

  static void* Run(void* arg) {
    auto* e = static_cast<Engine*>(arg);
    BodyEngines* self = e->self;
    epoll_event evs[64];
    for (;;) {
      int n = epoll_wait(e->ep, evs, 64, -1);
      // Cancels asked so far; a job in this batch stays alive through the list until it is done.
      std::vector<BodyJobPtr> cancels;
      {
        std::lock_guard<std::mutex> g(e->mu);
        cancels.swap(e->cancels);
      }
      for (int i = 0; i < n; i++) {
        auto* job = static_cast<BodyJob*>(evs[i].data.ptr);
        if (job == nullptr) {
          uint64_t v;
          ssize_t r = read(e->efd, &v, sizeof v);
          (void)r;
          continue;
        }
        if (!job->done && job->Pump()) self->Finish(e, job);
      }
      for (auto& job : cancels) {
        if (job->done) continue;
        job->error = ECANCELED;
        self->Finish(e, job.get());
      }
    }
    return nullptr;
  }

  std::vector<std::unique_ptr<Engine>> engines_;
  std::atomic<size_t> next_{0};
  uv_async_t* wake_ = nullptr;
  std::mutex doneMu_;
  std::vector<BodyJobPtr> done_;
};

}  // namespace hearth
