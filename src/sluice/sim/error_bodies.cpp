#include "sluice/sim/error_bodies.hpp"

#include <array>
#include <nlohmann/json.hpp>

#include "sluice/core/json_text.hpp"
#include "sluice/sim/wire_time.hpp"

namespace sluice::sim {

namespace {

// Insertion order is kept so bodies read like the providers' own.
using Json = nlohmann::ordered_json;
using R = Refusal;

constexpr std::string_view kOrg = "org-sim";

std::string masked(std::string_view key) {
  if (key.size() <= 8) return "****";
  return std::string(key.substr(0, 3)) + "*****" + std::string(key.substr(key.size() - 4));
}

std::string n(std::int64_t v) { return std::to_string(v); }

// ---- envelopes (providers.md §0.3) ----

ErrorReply openai_envelope(int status, const std::string& message, std::string_view type,
                           std::string_view code, std::string_view param = {}) {
  Json e;
  e["message"] = message;
  e["type"] = type;
  e["param"] = param.empty() ? Json(nullptr) : Json(param);
  e["code"] = code.empty() ? Json(nullptr) : Json(code);
  return {status, json_text(Json{{"error", e}})};
}

// Azure's own errors put the status (or a symbolic name) in `code`.
ErrorReply azure_envelope(int status, std::string_view code, const std::string& message) {
  return {status, json_text(Json{{"error", {{"code", code}, {"message", message}}}})};
}

ErrorReply anthropic_envelope(int status, std::string_view type, const std::string& message,
                              const std::string& request_id) {
  Json j;
  j["type"] = "error";
  j["error"] = {{"type", type}, {"message", message}};
  j["request_id"] = request_id;
  return {status, json_text(j)};
}

ErrorReply openrouter_envelope(int status, const std::string& message, Json metadata = nullptr) {
  Json e;
  e["message"] = message;
  e["code"] = status;
  if (!metadata.is_null()) e["metadata"] = std::move(metadata);
  Json j;
  j["error"] = std::move(e);
  j["user_id"] = "user_sim";
  return {status, json_text(j)};
}

// z.ai's business code is a string of digits.
ErrorReply zai_envelope(int status, std::string_view code, const std::string& message) {
  return {status, json_text(Json{{"error", {{"code", code}, {"message", message}}}})};
}

ErrorReply kimi_envelope(int status, std::string_view type, const std::string& message) {
  return {status, json_text(Json{{"error", {{"message", message}, {"type", type}}}})};
}

// ---- shared wording ----

std::string bad_request_openai(const BadRequest& b, std::string& code) {
  using W = BadRequest::Why;
  switch (b.why) {
    case W::kInvalidJson:
      return "We could not parse the JSON body of your request. (HINT: This likely means you "
             "aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, "
             "but what was sent was not valid JSON.)";
    case W::kNotAnObject: return "Invalid type for request body: expected an object.";
    case W::kMissing:
      if (b.param == "model") return "you must provide a model parameter";
      code = "missing_required_parameter";
      return "Missing required parameter: '" + b.param + "'.";
    case W::kInvalidType: code = "invalid_type"; return "Invalid type for '" + b.param + "'.";
    case W::kInvalidValue: code = "invalid_value"; return "Invalid value for '" + b.param + "'.";
  }
  return "Invalid request.";
}

std::string bad_request_anthropic(const BadRequest& b) {
  using W = BadRequest::Why;
  switch (b.why) {
    case W::kInvalidJson:
      return "There was an error parsing the body of your request: the body is not valid JSON.";
    case W::kNotAnObject: return "The request body must be a JSON object.";
    case W::kMissing: return b.param + ": Field required";
    case W::kInvalidType: return b.param + ": Input has the wrong type";
    case W::kInvalidValue: return b.param + ": Input is not a valid value";
  }
  return "Invalid request.";
}

std::string azure_operation_prefix() {
  return "Requests to the ChatCompletions_Create Operation under Azure OpenAI API version "
         "2024-10-21 have exceeded ";
}

// "Please try again in 1.898s." — OpenAI and Groq quote the wait as a Go duration.
std::string try_again_in(Duration wait) {
  return "Please try again in " + format_go_duration(wait);
}

std::string kimi_account() { return "Your account " + std::string(kOrg) + "<ak-sim> request"; }

// ---- per dialect ----

ErrorReply openai_like(Dialect d, R r, const RefusalFacts& f) {
  const bool groq = d == Dialect::kGroq;
  const bool azure = d == Dialect::kAzure;
  const std::string model(f.model);
  // OpenAI: "for gpt-4o in organization org-…"; Groq quotes the model in backticks.
  const std::string where = groq ? "for model `" + model +
                                       "` in organization `org_sim` service "
                                       "tier `on_demand`"
                                 : "for " + model + " in organization " + std::string(kOrg);
  const std::string learn_more =
      groq ? "" : " Visit https://platform.openai.com/account/rate-limits to learn more.";
  const std::string per_min = groq ? "per minute" : "per min";
  switch (r) {
    case R::kNotFound:
      if (azure) return azure_envelope(404, "404", "Resource not found");
      if (groq) {
        return openai_envelope(404,
                               "Unknown request URL: " + std::string(f.method) + " " +
                                   std::string(f.path) +
                                   ". Please check the URL for typos, or see the docs at "
                                   "https://console.groq.com/docs/",
                               "invalid_request_error", "unknown_url");
      }
      return openai_envelope(
          404, "Invalid URL (" + std::string(f.method) + " " + std::string(f.path) + ")",
          "invalid_request_error", "");
    case R::kBadRequest: {
      std::string code;
      std::string msg = bad_request_openai(f.bad, code);
      return openai_envelope(400, msg, "invalid_request_error", code, f.bad.param);
    }
    case R::kAuth:
      if (azure) {
        return azure_envelope(401, "401",
                              "Access denied due to invalid subscription key or wrong API "
                              "endpoint. Make sure to provide a valid key for an active "
                              "subscription and use a correct regional API endpoint for your "
                              "resource.");
      }
      if (groq)
        return openai_envelope(401, "Invalid API Key", "invalid_request_error", "invalid_api_key");
      return openai_envelope(401,
                             "Incorrect API key provided: " + masked(f.api_key) +
                                 ". You can find your API key at "
                                 "https://platform.openai.com/account/api-keys.",
                             "invalid_request_error", "invalid_api_key");
    case R::kModelNotFound:
      if (azure) {
        return azure_envelope(404, "DeploymentNotFound",
                              "The API deployment for this resource does not exist. If you "
                              "created the deployment within the last 5 minutes, please wait a "
                              "moment and try again.");
      }
      return openai_envelope(
          404, "The model `" + model + "` does not exist or you do not have access to it.",
          "invalid_request_error", "model_not_found");
    case R::kConcurrency:
      if (azure) {
        return azure_envelope(429, "429",
                              azure_operation_prefix() + "the concurrency limit of " + n(f.limit) +
                                  " in-flight requests of this deployment. Please retry once a "
                                  "request has finished.");
      }
      return openai_envelope(429,
                             "Too many concurrent requests " + where + ": limit " + n(f.limit) +
                                 " in flight. Please try again once a request has finished.",
                             "requests", "rate_limit_exceeded");
    case R::kRequestsPerWindow:
      if (azure) {
        return azure_envelope(429, "429",
                              azure_operation_prefix() +
                                  "call rate limit of your current OpenAI S0 pricing tier. "
                                  "Please retry after " +
                                  n(std::max<std::int64_t>(1, ceil_seconds(f.wait))) +
                                  " seconds. Please go here: https://aka.ms/oai/quotaincrease if "
                                  "you would like to further increase the default rate limit.");
      }
      return openai_envelope(429,
                             "Rate limit reached " + where + " on requests " + per_min +
                                 " (RPM): Limit " + n(f.limit) + ", Used " + n(f.used) +
                                 ", Requested 1. " + try_again_in(f.wait) + "." + learn_more,
                             "requests", "rate_limit_exceeded");
    case R::kTokensPerWindow:
      if (azure) {
        return azure_envelope(429, "429",
                              azure_operation_prefix() +
                                  "token rate limit of your current OpenAI S0 pricing tier. "
                                  "Please retry after " +
                                  n(std::max<std::int64_t>(1, ceil_seconds(f.wait))) +
                                  " seconds. Please go here: https://aka.ms/oai/quotaincrease if "
                                  "you would like to further increase the default rate limit.");
      }
      return openai_envelope(429,
                             "Rate limit reached " + where + " on tokens " + per_min +
                                 " (TPM): Limit " + n(f.limit) + ", Used " + n(f.used) +
                                 ", Requested " + n(f.requested) + ". " + try_again_in(f.wait) +
                                 "." + learn_more,
                             "tokens", "rate_limit_exceeded");
    case R::kTooLarge:
      if (groq) {
        // Groq answers a request larger than the whole TPM budget with a 413.
        return openai_envelope(413,
                               "Request too large " + where +
                                   " on tokens per minute (TPM): "
                                   "Limit " +
                                   n(f.limit) + ", Requested " + n(f.requested) +
                                   ", please reduce your message size and try again.",
                               "tokens", "rate_limit_exceeded");
      }
      if (azure) {
        return azure_envelope(429, "429",
                              "Request too large: it needs " + n(f.requested) +
                                  " tokens but the deployment's token rate limit is " + n(f.limit) +
                                  " per minute. Reduce the prompt or max_tokens.");
      }
      return openai_envelope(429,
                             "Request too large " + where + " on tokens per min (TPM): Limit " +
                                 n(f.limit) + ", Requested " + n(f.requested) +
                                 ". The input or output tokens must be reduced in order to run "
                                 "successfully." +
                                 learn_more,
                             "tokens", "rate_limit_exceeded");
    case R::kDaily:
    case R::kQuota:
      if (azure) {
        return azure_envelope(429, "429",
                              azure_operation_prefix() +
                                  "the requests per day limit of your current pricing tier. "
                                  "Please retry after " +
                                  n(std::max<std::int64_t>(1, ceil_seconds(f.wait))) + " seconds.");
      }
      return openai_envelope(429,
                             "Rate limit reached " + where + " on requests per day (RPD): Limit " +
                                 n(f.limit) + ", Used " + n(f.used) + ", Requested 1. " +
                                 try_again_in(f.wait) + "." + learn_more,
                             "requests", "rate_limit_exceeded");
    case R::kBilling:
      return openai_envelope(429,
                             "You exceeded your current quota, please check your plan and billing "
                             "details. For more information on this error, read the docs: "
                             "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                             "insufficient_quota", "insufficient_quota");
    case R::kOverload:
      if (groq) {
        return openai_envelope(498,
                               "Flex tier capacity exceeded. This model is currently at "
                               "capacity, please try again later.",
                               "capacity_exceeded", "capacity_exceeded");
      }
      return openai_envelope(503, "The server is overloaded or not ready yet.",
                             "service_unavailable_error", "server_is_overloaded");
    case R::kServerError:
      return openai_envelope(500,
                             "The server had an error while processing your request. Sorry about "
                             "that!",
                             "server_error", "");
  }
  return openai_envelope(500, "unknown refusal", "server_error", "");
}

ErrorReply anthropic(R r, const RefusalFacts& f) {
  const std::string& rid = f.request_id;
  const std::string org = " for your organization (" + std::string(kOrg) + ") of ";
  const std::string tail =
      ". For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the "
      "response headers for current usage. Please reduce the prompt length or the maximum tokens "
      "requested, or try again later.";
  switch (r) {
    case R::kNotFound: return anthropic_envelope(404, "not_found_error", "Not Found", rid);
    case R::kBadRequest:
      return anthropic_envelope(400, "invalid_request_error", bad_request_anthropic(f.bad), rid);
    case R::kAuth: return anthropic_envelope(401, "authentication_error", "invalid x-api-key", rid);
    case R::kModelNotFound:
      return anthropic_envelope(404, "not_found_error", "model: " + std::string(f.model), rid);
    case R::kConcurrency:
      return anthropic_envelope(429, "rate_limit_error",
                                "Number of concurrent requests has exceeded your concurrency "
                                "limit of " +
                                    n(f.limit) + ". Please try again once a request has finished.",
                                rid);
    case R::kRequestsPerWindow:
      return anthropic_envelope(429, "rate_limit_error",
                                "This request would exceed the rate limit" + org + n(f.limit) +
                                    " requests per minute" + tail,
                                rid);
    case R::kTokensPerWindow:
      return anthropic_envelope(429, "rate_limit_error",
                                "This request would exceed the rate limit" + org + n(f.limit) +
                                    " input tokens per minute" + tail,
                                rid);
    case R::kTooLarge:
      return anthropic_envelope(429, "rate_limit_error",
                                "Request too large: this request alone needs " + n(f.requested) +
                                    " tokens, more than the rate limit" + org + n(f.limit) +
                                    " input tokens per minute.",
                                rid);
    case R::kDaily:
      return anthropic_envelope(429, "rate_limit_error",
                                "This request would exceed the rate limit" + org + n(f.limit) +
                                    " requests per day" + tail,
                                rid);
    case R::kQuota:
      return anthropic_envelope(400, "invalid_request_error",
                                "You have reached your specified API usage limits. You will "
                                "regain access on " +
                                    format_utc_date(f.reset_at) + " at 00:00 (UTC).",
                                rid);
    case R::kBilling:
      return anthropic_envelope(400, "invalid_request_error",
                                "Your credit balance is too low to access the Anthropic API. "
                                "Please go to Plans & Billing to upgrade or purchase credits.",
                                rid);
    case R::kOverload: return anthropic_envelope(529, "overloaded_error", "Overloaded", rid);
    case R::kServerError: return anthropic_envelope(500, "api_error", "Internal server error", rid);
  }
  return anthropic_envelope(500, "api_error", "Internal server error", rid);
}

Json echo_headers(const HeaderPairs& h) {
  Json j = Json::object();
  for (const auto& [k, v] : h) j[k] = v;
  return j;
}

ErrorReply openrouter(R r, const RefusalFacts& f) {
  const std::string model(f.model);
  switch (r) {
    case R::kNotFound: return openrouter_envelope(404, "Not Found");
    case R::kBadRequest: {
      std::string unused;
      return openrouter_envelope(400, bad_request_openai(f.bad, unused));
    }
    case R::kAuth:
      return openrouter_envelope(
          401, f.api_key.empty() ? "No auth credentials found" : "User not found.");
    case R::kModelNotFound: return openrouter_envelope(400, model + " is not a valid model ID");
    case R::kConcurrency:
      return openrouter_envelope(429,
                                 "Rate limit exceeded: too many concurrent requests for this key "
                                 "(max concurrency: " +
                                     n(f.limit) + ").");
    case R::kRequestsPerWindow:
      return openrouter_envelope(429,
                                 "Rate limit exceeded: limit_rpm/" + model + "/sim. Limited to " +
                                     n(f.limit) + " requests per minute.",
                                 Json{{"headers", echo_headers(f.echoed_headers)}});
    case R::kTokensPerWindow:
      return openrouter_envelope(429, "Rate limit exceeded: limit_tpm/" + model +
                                          "/sim. Limited to " + n(f.limit) + " tokens per minute.");
    case R::kTooLarge:
      return openrouter_envelope(429, "Request too large: this request needs " + n(f.requested) +
                                          " tokens, more than the limit of " + n(f.limit) +
                                          " tokens per minute.");
    case R::kDaily:
      return openrouter_envelope(429,
                                 "Rate limit exceeded: free-models-per-day. Add 10 credits to "
                                 "unlock 1000 free model requests per day",
                                 Json{{"headers", echo_headers(f.echoed_headers)},
                                      {"limit_source", "openrouter_free_tier_daily"}});
    case R::kQuota:
      return openrouter_envelope(403,
                                 "Key limit exceeded (daily limit). Manage it using "
                                 "https://openrouter.ai/settings/keys");
    case R::kBilling:
      return openrouter_envelope(402,
                                 "Insufficient credits. Add more using "
                                 "https://openrouter.ai/settings/credits");
    case R::kOverload:
      return openrouter_envelope(503,
                                 "No instances available for " + model +
                                     ": every provider is overloaded, please retry shortly.",
                                 Json{{"error_type", "provider_overloaded"}});
    case R::kServerError: return openrouter_envelope(500, "Internal Server Error");
  }
  return openrouter_envelope(500, "Internal Server Error");
}

ErrorReply zai(R r, const RefusalFacts& f) {
  using W = BadRequest::Why;
  switch (r) {
    case R::kNotFound: return zai_envelope(404, "1222", "API 不存在，请检查请求路径。");
    case R::kBadRequest:
      if (f.bad.why == W::kInvalidJson || f.bad.why == W::kNotAnObject) {
        return zai_envelope(400, "1210", "API 调用参数有误，请检查文档。");
      }
      if (f.bad.why == W::kMissing) {
        return zai_envelope(400, "1214", "未正常接收到 " + f.bad.param + " 参数。");
      }
      return zai_envelope(400, "1214", f.bad.param + " 参数非法，请检查文档。");
    case R::kAuth:
      if (f.api_key.empty()) {
        return zai_envelope(401, "1001", "Header中未收到Authorization参数，无法进行身份验证。");
      }
      return zai_envelope(401, "1002",
                          "Authorization Token非法，请确认Authorization Token正确传递。");
    case R::kModelNotFound: return zai_envelope(400, "1211", "模型不存在，请检查模型代码。");
    case R::kConcurrency:
      return zai_envelope(429, "1302",
                          "您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。");
    case R::kRequestsPerWindow:
    case R::kTokensPerWindow:  // z.ai has one code for request frequency
      return zai_envelope(429, "1303",
                          "您当前使用该API的频率过高，请降低频率，或联系客服增加限额。");
    case R::kTooLarge:
      return zai_envelope(400, "1210", "tokens in request more than max tokens allowed");
    case R::kDaily:
      return zai_envelope(429, "1304",
                          "该 API 已达今日调用次数限额，如有更多需求，请联系客服购买。");
    case R::kQuota:
      return zai_envelope(429, "1308",
                          "Usage limit reached for 1 day. Your limit will reset at " +
                              format_beijing_time_ceil(f.reset_at));
    case R::kBilling: return zai_envelope(429, "1113", "余额不足或无可用资源包，请充值后重试。");
    case R::kOverload: return zai_envelope(429, "1305", "当前API请求过多，请稍后重试。");
    case R::kServerError:
      return zai_envelope(500, "1234", "网络错误，错误id：" + f.request_id + "，请联系客服。");
  }
  return zai_envelope(500, "1234", "网络错误，请联系客服。");
}

ErrorReply kimi(R r, const RefusalFacts& f) {
  const std::string wait_s = n(std::max<std::int64_t>(1, ceil_seconds(f.wait)));
  switch (r) {
    case R::kNotFound:
      return kimi_envelope(404, "resource_not_found_error", "url.not_found 没找到对象");
    case R::kBadRequest: {
      std::string unused;
      return kimi_envelope(400, "invalid_request_error",
                           "Invalid request: " + bad_request_openai(f.bad, unused));
    }
    case R::kAuth:
      return kimi_envelope(401, "invalid_authentication_error", "Invalid Authentication");
    case R::kModelNotFound:
      return kimi_envelope(404, "resource_not_found_error",
                           "Not found the model " + std::string(f.model) + " or Permission denied");
    case R::kConcurrency:
      return kimi_envelope(429, "rate_limit_reached_error",
                           kimi_account() + " reached organization max concurrency: " + n(f.limit) +
                               ", please try again after 1 seconds");
    case R::kRequestsPerWindow:
      return kimi_envelope(429, "rate_limit_reached_error",
                           kimi_account() + " reached organization max RPM: " + n(f.limit) +
                               ", please try again after " + wait_s + " seconds");
    case R::kTokensPerWindow:
      return kimi_envelope(429, "rate_limit_reached_error",
                           kimi_account() + " reached organization TPM rate limit, current:" +
                               n(f.used) + ", limit:" + n(f.limit));
    case R::kTooLarge:
      return kimi_envelope(400, "invalid_request_error",
                           "Your request exceeded model token limit: " + n(f.limit));
    case R::kDaily:
    case R::kQuota:
      return kimi_envelope(429, "rate_limit_reached_error",
                           kimi_account() + " reached organization TPD rate limit, current:" +
                               n(f.used) + ", limit:" + n(f.limit));
    case R::kBilling:
      return kimi_envelope(429, "exceeded_current_quota_error",
                           "You exceeded your current token quota: <" + std::string(kOrg) +
                               "> 0, please check your account balance");
    case R::kOverload:
      return kimi_envelope(429, "engine_overloaded_error",
                           "The engine is currently overloaded, please try again later");
    case R::kServerError: return kimi_envelope(500, "server_error", "Internal server error");
  }
  return kimi_envelope(500, "server_error", "Internal server error");
}

std::string sse_data(const Json& j) { return "data: " + json_text(j) + "\n\n"; }

}  // namespace

std::string_view stats_name(Refusal r) {
  static constexpr std::array<std::string_view, kRefusalCount> kNames = {
      "not_found", "bad_request", "auth",    "model_not_found", "concurrency", "rpm",         "tpm",
      "too_large", "daily",       "billing", "quota",           "overload",    "server_error"};
  return kNames[static_cast<std::size_t>(r)];
}

ErrorReply render_refusal(Dialect dialect, Refusal refusal, const RefusalFacts& facts) {
  switch (dialect) {
    case Dialect::kAnthropic: return anthropic(refusal, facts);
    case Dialect::kOpenRouter: return openrouter(refusal, facts);
    case Dialect::kZai: return zai(refusal, facts);
    case Dialect::kKimi: return kimi(refusal, facts);
    default: return openai_like(dialect, refusal, facts);
  }
}

std::vector<std::string> render_stream_error(Dialect dialect, std::string_view id,
                                             std::string_view model, TimePoint now) {
  switch (dialect) {
    case Dialect::kAnthropic:
      // "which would normally correspond to an HTTP 529"; nothing follows it.
      return {
          "event: error\ndata: " +
          json_text(Json{{"type", "error"},
                         {"error", {{"type", "overloaded_error"}, {"message", "Overloaded"}}}}) +
          "\n\n"};
    case Dialect::kOpenRouter: {
      // A normal chunk with a top-level error and finish_reason "error"; the stream ends.
      Json chunk;
      chunk["id"] = id;
      chunk["object"] = "chat.completion.chunk";
      chunk["created"] =
          std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
      chunk["model"] = model;
      chunk["provider"] = "sim";
      chunk["error"] = {{"code", 502},
                        {"message", "Provider returned error"},
                        {"metadata", {{"error_type", "provider_unavailable"}}}};
      chunk["choices"] =
          Json::array({{{"index", 0}, {"delta", {{"content", ""}}}, {"finish_reason", "error"}}});
      return {sse_data(chunk)};
    }
    case Dialect::kZai:
      return {sse_data(Json{{"error", {{"code", "1234"}, {"message", "网络错误，请联系客服。"}}}}),
              "data: [DONE]\n\n"};
    case Dialect::kKimi:
      return {sse_data(Json{
                  {"error", {{"message", "Internal server error"}, {"type", "server_error"}}}}),
              "data: [DONE]\n\n"};
    default: {
      Json e;
      e["message"] = "The server had an error while processing your request. Sorry about that!";
      e["type"] = "server_error";
      e["param"] = nullptr;
      e["code"] = nullptr;
      return {sse_data(Json{{"error", e}}), "data: [DONE]\n\n"};
    }
  }
}

std::string_view garbage_body() {
  return "<<sluice-sim: this body is deliberately not JSON>> {\"id\": \"chatcmpl-";
}

}  // namespace sluice::sim
