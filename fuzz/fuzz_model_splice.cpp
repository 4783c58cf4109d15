// libFuzzer target: the front door's body scan and the model splice. Input:
// a request body. Besides never crashing, a valid body with a model string
// must splice into a valid body whose model is the new one (never the
// client's alias, whatever duplicates or escapes the body holds) and whose
// other facts are unchanged. The on-demand walk must judge a body as a full
// DOM parse does (an object with at most one top-level model), but for the
// escapes inside string values, which it leaves to the provider (decision 0018).
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sluice/providers/model_splice.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace p = sluice::providers;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const p::BodyFacts f = p::inspect_body(body);
  if (f.model_end > body.size() || f.model_begin > f.model_end) std::abort();
  {
    thread_local simdjson::dom::parser dom;
    simdjson::dom::object obj;
    const auto error = dom.parse(body.data(), body.size()).get_object().get(obj);
    bool accepted = !error;
    if (accepted) {
      int models = 0;
      for (auto [key, value] : obj) models += key == "model" ? 1 : 0;
      accepted = models <= 1;
    }
    if (accepted && !f.valid) std::abort();
    if (f.valid && !accepted && error != simdjson::STRING_ERROR) std::abort();
  }
  if (!f.valid || !f.model) return 0;
  const std::string_view upstream = "up/m\"odel\\\n";
  const std::string out = p::splice_model(body, f, upstream);
  const p::BodyFacts g = p::inspect_body(out);
  if (!g.valid || g.model != upstream) std::abort();
  if (g.stream != f.stream || g.max_tokens != f.max_tokens || g.messages != f.messages ||
      g.text_bytes != f.text_bytes) {
    std::abort();
  }
  (void)p::estimate_prompt_tokens(f.text_bytes);
  return 0;
}
