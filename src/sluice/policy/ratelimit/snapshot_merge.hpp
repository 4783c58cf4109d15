#pragma once
// Replies can be handled out of order: with several requests in flight, a
// reply the provider produced earlier (more requests remaining) may be
// processed after a later one. Taking the last processed snapshot as the
// truth would then hand back budget that is already spent, and the throttle
// would let a request through into a 429.
//
// So when the new snapshot's bucket resets at the same instant as the
// previous one's (the same window, within `same_window`), its `remaining`
// never rises: the lower count wins. A bucket in a new window (a later reset)
// is taken as it comes. A bucket that resets clearly *earlier* than the one
// held, while the held window is still open, comes from a reply produced in
// an earlier window and handled late (it straddled the reset): the held
// bucket stays. For a provider that refills continuously an earlier reset can
// also mean a faster refill; keeping the held bucket is then merely cautious
// until it resets. Resets measured from a whole-second Date (Anthropic's)
// widen `same_window` by the snapshots' reset_uncertainty.
#include "sluice/core/rate_limit_snapshot.hpp"

namespace sluice::policy {

RateLimitSnapshot merge_same_window(const RateLimitSnapshot* previous, RateLimitSnapshot next,
                                    Duration same_window = std::chrono::milliseconds(250));

}  // namespace sluice::policy
