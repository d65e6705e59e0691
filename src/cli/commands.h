// Registration of the `eragon` subcommands. Each Add* function adds its subcommands to
// `app`; when one runs, it stores its exit code in `*exit_code`.
// REQUIRES: `ctx` and `exit_code` outlive app.parse().
#pragma once

#include <simdjson.h>

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/cli_context.h"

namespace eragon::cli {

void AddRoutesCommands(CLI::App& app, const CliContext& ctx, int* exit_code);
void AddPublishCommand(CLI::App& app, const CliContext& ctx, int* exit_code);
void AddEventsCommands(CLI::App& app, const CliContext& ctx, int* exit_code);
void AddServicesCommands(CLI::App& app, const CliContext& ctx, int* exit_code);
void AddDeliveryCommands(CLI::App& app, const CliContext& ctx, int* exit_code);
void AddTailCommand(CLI::App& app, const CliContext& ctx, int* exit_code);
void AddSchedulesCommands(CLI::App& app, const CliContext& ctx, int* exit_code);
void AddSagasCommands(CLI::App& app, const CliContext& ctx, int* exit_code);

// Reads a whole file, or stdin when `path` is "-". Prints an error and returns false
// when it cannot.
bool ReadInput(const std::string& path, std::string* out);

// Parses `body` (a 2xx answer) for human output; prints an error when it is not JSON.
bool ParseReply(simdjson::dom::parser& parser, const std::string& body,
                simdjson::dom::element* doc);

// How a command shows a 2xx answer to a person; returns the exit code.
using ShowFn = std::function<int(simdjson::dom::element doc, const HttpReply& reply)>;
// Sends the request (CallApi); under --json prints the answer's body as it is, otherwise
// parses it and returns show(doc, reply). Returns the command's exit code.
int CallAndShow(const CliContext& ctx, std::string_view method, const std::string& path,
                std::string_view body, const ShowFn& show, const HttpHeaders& headers = {});

}  // namespace eragon::cli
