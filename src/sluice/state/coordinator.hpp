#pragma once
// The coordination port: what several gateway instances must agree on while
// requests are in flight, as opposed to the Store's learned facts. A single
// gateway has no coordinator (its local limiter is the whole truth); with
// `state.backend: redis` the engine asks one per admission.
//
// Admission is one round trip: take a concurrency lease on (key scope,
// bucket) if fewer than `limit` are held across every instance, and, in the
// same atomic step, count this send against the shared budget of (key scope,
// model) and read what that budget looked like — the newest rate-limit
// snapshot any instance captured plus every send since. Leases expire unless
// renewed, so a killed gateway's slots come back within the TTL.
//
// Nothing here may fail a request: when the backend is unreachable the
// answer is kUnavailable and the caller goes on with its local limits.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "sluice/core/rate_limit_snapshot.hpp"
#include "sluice/core/time.hpp"

namespace sluice::state {

struct AdmissionRequest {
  std::string key_scope;    // "base_url|fingerprint"
  std::string bucket;       // limiter bucket: the model on z.ai, else ""
  std::string model;        // budget model
  int limit = 1;            // concurrency cap across all instances
  std::int64_t tokens = 0;  // this send's estimated tokens
};

// The budget as all instances together see it. `sent_*` counts sends since
// `snapshot` was captured (including sends in flight when it was taken), not
// counting the one being admitted.
struct SharedBudget {
  std::optional<RateLimitSnapshot> snapshot;
  std::int64_t sent_requests = 0;
  std::int64_t sent_tokens = 0;
};

struct Admission {
  enum class Kind : std::uint8_t {
    kGranted,      // lease held: release it when the attempt ends
    kBusy,         // `limit` leases are held elsewhere; try again shortly
    kUnavailable,  // the backend did not answer: go on with local limits
  };
  Kind kind = Kind::kUnavailable;
  std::string lease_id;
  SharedBudget budget;
};

class Coordinator {
 public:
  virtual ~Coordinator() = default;
  virtual Admission admit(const AdmissionRequest& request) = 0;
  // admit() without blocking the caller: `done` is called once with the
  // answer, possibly on another thread (post it to your executor). The
  // default answers at once with admit().
  virtual void admit_async(const AdmissionRequest& request, std::function<void(Admission)> done) {
    done(admit(request));
  }
  // Gives the lease back. `refund` undoes the send's budget count when the
  // request was not sent after all (the shared throttle said wait).
  virtual void release(const AdmissionRequest& request, const std::string& lease_id,
                       bool refund) = 0;
  // A response to `request` carried rate-limit headers: publish them as the
  // shared snapshot; sends still in flight elsewhere (other leases on the same
  // bucket) stay counted.
  virtual void share_snapshot(const AdmissionRequest& request,
                              const RateLimitSnapshot& snapshot) = 0;
  // Extends every lease this instance holds; call every lease_ttl() / 3.
  virtual void renew() = 0;
  virtual Duration lease_ttl() const = 0;
};

}  // namespace sluice::state
