#include "sluice/policy/errors/rules.hpp"

namespace sluice::policy {

namespace {

using C = ErrorClass;

ErrorRule codes(std::string name, std::vector<std::string> c, ErrorClass cls) {
  ErrorRule r;
  r.name = std::move(name);
  r.codes = std::move(c);
  r.cls = cls;
  return r;
}

ErrorRule phrases(std::string name, std::vector<std::string> p, ErrorClass cls) {
  ErrorRule r;
  r.name = std::move(name);
  r.any_phrases = std::move(p);
  r.cls = cls;
  return r;
}

ErrorRule with_status(ErrorRule r, std::vector<int> statuses) {
  r.statuses = std::move(statuses);
  return r;
}

// Order matters: the first matching rule wins. The sequence follows
// providers.md §18/§19: content policy, requests that can never fit,
// provider business codes, billing, provider-wide overload, concurrency,
// long windows, short rate limits, then the non-limit classes.
std::vector<ErrorRule> make_builtin() {
  std::vector<ErrorRule> r;

  r.push_back(codes("content-policy-code",
                    {"content_policy_violation", "content_filter", "responsibleaipolicyviolation",
                     "content_policy_blocked", "refusal", "1301"},
                    C::kContentPolicy));
  r.push_back(
      phrases("content-policy-text",
              {"rejected as a result of our safety system", "violates our usage polic",
               "violates openai's usage polic", "your request was flagged", "input was flagged",
               "prompt was flagged", "flagged for possible", "considered high risk",
               "content management policy", "responses cannot be generated due to safety"},
              C::kContentPolicy));

  // Anthropic's long-context tier gate is a 429 but waiting never helps.
  r.push_back(phrases("anthropic-long-context-tier", {"extra usage is required for long context"},
                      C::kContextOverflow));
  // One request larger than the whole per-minute budget (OpenAI 429, Groq 413).
  r.push_back(phrases("request-larger-than-budget", {"request too large"}, C::kPayloadTooLarge));

  // z.ai / Zhipu business codes (a string of digits in error.code, or in
  // error.type on the Anthropic-compatible endpoint, or "[1308]" in text).
  r.push_back(codes("zai-billing", {"1113", "1309", "1311", "1314"}, C::kBilling));
  r.push_back(codes("zai-concurrency", {"1302"}, C::kConcurrencyLimit));
  r.push_back(codes("zai-rate", {"1303"}, C::kRateLimit));
  r.push_back(codes("zai-quota",
                    {"1304", "1308", "1310", "1316", "1317", "1318", "1319", "1320", "1321"},
                    C::kQuotaExhausted));
  r.push_back(codes("zai-overloaded", {"1305", "1312"}, C::kOverloaded));
  r.push_back(codes("zai-auth-permanent", {"1110", "1111", "1112", "1121", "1220", "1313", "1315"},
                    C::kAuthPermanent));
  r.push_back(codes("zai-auth", {"1000", "1001", "1002", "1003", "1004"}, C::kAuth));
  {
    ErrorRule ctx = codes("zai-1210-too-long", {"1210"}, C::kContextOverflow);
    ctx.any_phrases = {"more than max tokens", "too long", "超过最大长度"};
    r.push_back(std::move(ctx));
  }
  r.push_back(codes("zai-format", {"1210", "1213", "1214", "1215", "1222"}, C::kFormatError));
  r.push_back(codes("zai-model", {"1211", "1221"}, C::kModelNotFound));
  r.push_back(codes("zai-context", {"1261"}, C::kContextOverflow));
  r.push_back(codes("zai-network", {"1234"}, C::kServerError));
  // Localised z.ai texts without a code (BigModel's Chinese table).
  r.push_back(phrases("zai-concurrency-text", {"并发数过高", "并发"}, C::kConcurrencyLimit));
  r.push_back(phrases("zai-overloaded-text", {"当前api请求过多", "请求过多"}, C::kOverloaded));
  r.push_back(phrases("zai-rate-text", {"频率过高"}, C::kRateLimit));
  r.push_back(phrases("zai-quota-text", {"今日调用次数限额", "使用上限"}, C::kQuotaExhausted));

  // Billing first among the limits: status codes lie (400, 402, 403, 404, 429).
  r.push_back(codes(
      "billing-code",
      {"insufficient_quota", "billing_error", "billing_not_active", "payment_required",
       "insufficient_credits", "credit_balance_exhausted", "organization_spend_limit_exceeded",
       "project_spend_limit_exceeded", "organization_usage_limit_exceeded",
       "exceeded_current_quota_error", "balance_depleted", "no_usable_credits",
       "model_not_supported_on_free_tier", "openrouter_credits", "free_variant_ended"},
      C::kBilling));
  r.push_back(phrases("billing-text",
                      {"insufficient balance",
                       "insufficient credits",
                       "insufficient funds",
                       "credit balance is too low",
                       "credits have been exhausted",
                       "credits exhausted",
                       "requires more credits",
                       "used all available credits",
                       "spending limit",
                       "spend limit",
                       "余额不足",
                       "欠费",
                       "please recharge",
                       "not available on the free tier",
                       "requires available credits",
                       "top up your credits",
                       "billing hard limit",
                       "out of funds",
                       "payment required",
                       "key limit exceeded (total limit)",
                       "credits are depleted",
                       "prepaid credits",
                       "plan does not include",
                       ", limit: 0,",
                       "limit: 0\n"},
                      C::kBilling));

  // Provider-wide capacity: not this key's fault; do not rotate.
  r.push_back(codes(
      "overloaded-code",
      {"overloaded_error", "engine_overloaded_error", "server_is_overloaded", "queue_exceeded",
       "capacity_exceeded", "service_tier_capacity_exceeded", "3505", "capacity_exhausted",
       "upstream_provider_shared_pool", "provider_overloaded", "unavailable_error", "unavailable",
       "model_capacity_exhausted", "temporarily_unavailable"},
      C::kOverloaded));
  r.push_back(
      phrases("overloaded-text",
              {"overloaded", "at capacity", "over capacity", "capacity exceeded",
               "rate-limited upstream", "server busy", "maximum pending requests exceeded",
               "loading model", "high traffic", "server overload", "temporarily unavailable"},
              C::kOverloaded));

  // Concurrency: only Moonshot and z.ai say so explicitly.
  r.push_back(phrases("concurrency-text",
                      {"max concurrency", "too many concurrent", "concurrent requests exceeded",
                       "concurrency limit"},
                      C::kConcurrencyLimit));

  // Long windows: day/week/month units, daily quota ids, spend-period caps.
  r.push_back(codes("long-window-code", {"openrouter_free_tier_daily", "usage_limit_reached"},
                    C::kQuotaExhausted));
  r.push_back(phrases(
      "long-window-text",
      {"(rpd)", "(tpd)", "requests per day", "tokens per day", "per day", "perday",
       "free-models-per-day", "limit_rpd/", "tpd rate limit", "specified api usage limits",
       "key limit exceeded (daily", "key limit exceeded (weekly", "key limit exceeded (monthly",
       "usage limit reached", "usage limit has been reached", "daily limit", "weekly limit",
       "monthly limit", "usage limit for this billing cycle"},
      C::kQuotaExhausted));
  // Plan and quota wording without a unit ("Monthly quota reached", "You've
  // reached your usage limit", "quota has been exhausted"): a long window,
  // unless the text names a short one (Vertex's "quota exhausted for
  // ..._per_minute_..." is a per-minute limit).
  {
    ErrorRule quota =
        phrases("quota-text",
                {"reached your usage limit", "hit your usage limit", "usage limit exceeded",
                 "exceeded your usage limit", "exhausted your usage", "monthly usage",
                 "monthly quota", "weekly quota", "daily quota", "quota reached",
                 "quota has been reached", "quota exhausted", "quota has been exhausted",
                 "quota is exhausted", "quota was exhausted", "exhausted your quota"},
                C::kQuotaExhausted);
    quota.unless = {"per min",    "per_min", "permin",    "per second", "per_second",
                    "persecond",  "(rpm)",   "(tpm)",     "rpm limit",  "tpm limit",
                    "per-minute", "/minute", "per-second"};
    r.push_back(std::move(quota));
  }

  // Short windows.
  r.push_back(
      codes("rate-limit-code",
            {"rate_limit_exceeded", "rate_limit_error", "rate_limited", "slow_down",
             "rate_limit_reached_error", "token_quota_exceeded", "resource_exhausted",
             "too_many_requests", "throttlingexception", "openrouter_shared_capacity", "1300"},
            C::kRateLimit));
  r.push_back(with_status(codes("openai-429-type", {"tokens", "requests"}, C::kRateLimit), {429}));
  r.push_back(phrases("rate-limit-text",
                      {"rate limit", "rate_limit", "ratelimit", "too many requests", "throttl",
                       "requests per minute", "tokens per minute", "free-models-per-min",
                       "limit_rpm/", "resource has been exhausted", "resource exhausted",
                       "try again in", "rate increased too quickly"},
                      C::kRateLimit));

  r.push_back(codes("context-code",
                    {"context_length_exceeded", "exceed_context_size_error", "max_tokens_exceeded",
                     "token_limit_exceeded", "string_too_long"},
                    C::kContextOverflow));
  r.push_back(phrases(
      "context-text",
      {"maximum context length", "context length", "context window", "context size",
       "prompt is too long", "exceed context limit", "exceeds the maximum number of tokens",
       "input token count", "too many tokens", "reduce the length", "input token length too long",
       "exceeded model token limit", "超过最大长度", "上下文长度", "input is too long",
       "max_model_len", "maximum model length", "prompt exceeds max length", "current length is"},
      C::kContextOverflow));

  r.push_back(
      codes("payload-code", {"request_too_large", "payload_too_large"}, C::kPayloadTooLarge));
  r.push_back(phrases("payload-text",
                      {"request entity too large", "payload too large", "error code: 413",
                       "file size exceeds", "body too large"},
                      C::kPayloadTooLarge));

  r.push_back(
      codes("auth-permanent-code",
            {"permission_error", "permission_denied_error", "unsupported_country_region_territory",
             "request_forbidden", "permission_denied", "region_restricted", "account_deactivated",
             "failed_precondition"},
            C::kAuthPermanent));
  r.push_back(
      phrases("auth-permanent-text",
              {"unsupported_country", "account is deactivated", "account has been deactivated",
               "not available in your region", "account has been disabled"},
              C::kAuthPermanent));
  r.push_back(codes("auth-code",
                    {"invalid_api_key", "authentication_error", "invalid_authentication_error",
                     "incorrect_api_key_error", "api_key_invalid", "authentication",
                     "unauthenticated", "invalid_token", "token_expired"},
                    C::kAuth));
  r.push_back(phrases(
      "auth-text",
      {"invalid api key", "incorrect api key", "api key not valid", "invalid authentication",
       "invalid subscription key", "unauthorized", "authorization token", "invalid token",
       "token expired", "invalid x-api-key", "authentication failed"},
      C::kAuth));

  r.push_back(codes("model-code",
                    {"model_not_found", "deploymentnotfound", "not_found_error",
                     "resource_not_found_error", "model_not_available", "invalid_model",
                     "not_found", "model_deprecated", "no_endpoints", "model_unavailable_upstream"},
                    C::kModelNotFound));
  r.push_back(phrases(
      "model-text",
      {"model not found", "does not exist", "no such model", "unknown model",
       "is not a valid model", "invalid model", "not found, try pulling it first", "模型不存在",
       "no endpoints found", "is not found for api version", "unsupported model"},
      C::kModelNotFound));

  r.push_back(codes("format-code",
                    {"unsupported_parameter", "unknown_parameter", "invalid_argument",
                     "unprocessable", "invalid_prompt", "invalid_request"},
                    C::kFormatError));
  r.push_back(phrases("format-text",
                      {"unsupported parameter", "unrecognized request argument",
                       "prefilling assistant messages is not supported", "error parsing grammar",
                       "unable to generate parser", "reasoning is mandatory",
                       "max_tokens must be at least", "invalid json payload"},
                      C::kFormatError));

  r.push_back(
      codes("timeout-code", {"timeout_error", "deadline_exceeded", "timeout"}, C::kTimeout));
  r.push_back(phrases("timeout-text",
                      {"timed out", "timeout", "error code: 524", "deadline exceeded",
                       "gateway time-out", "gateway timeout"},
                      C::kTimeout));

  r.push_back(codes("server-code",
                    {"api_error", "server_error", "internal", "internal_server_error",
                     "unexpected_output", "provider_unavailable", "server"},
                    C::kServerError));
  r.push_back(phrases("server-text",
                      {"bad gateway", "error code: 502", "error code: 500", "error code: 503",
                       "internal server error", "the server had an error"},
                      C::kServerError));
  return r;
}

}  // namespace

void RuleTable::prepend(std::vector<ErrorRule> rules) {
  rules.insert(rules.end(), std::make_move_iterator(rules_.begin()),
               std::make_move_iterator(rules_.end()));
  rules_ = std::move(rules);
}

const RuleTable& builtin_rules() {
  static const RuleTable table(make_builtin());
  return table;
}

}  // namespace sluice::policy
