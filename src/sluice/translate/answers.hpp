#pragma once
// Pieces the whole-answer and stream translators share (internal).
#include <string>
#include <string_view>

#include "sluice/translate/json_util.hpp"
#include "sluice/translate/translate.hpp"

namespace sluice::translate {

std::string original_tool_name(const Context& ctx, const std::string& name);
std::string anthropic_stop_reason(std::string_view chat_finish);
std::string chat_finish_reason(std::string_view anthropic_stop);
detail::Json anthropic_usage_from_chat(const detail::Json& usage);
detail::Json chat_usage_from_anthropic(const detail::Json& usage);
detail::Json responses_usage_from_chat(const detail::Json& usage);
detail::Json chat_usage_from_responses(const detail::Json& usage);
// A Chat finish_reason for a finished Responses object.
std::string chat_finish_from_responses(const detail::Json& response, bool called_tools);
// A Responses object with no output yet (status in_progress).
detail::Json responses_envelope(const Context& ctx, const std::string& model);
// Its final status from a Chat finish_reason, and its usage.
void finish_responses_envelope(detail::Json& response, std::string_view chat_finish,
                               const detail::Json* chat_usage);

}  // namespace sluice::translate
