// The run report: one self-contained HTML page (pictures embedded as base64 data URIs, no scripts, no
// external style sheets), readable in any browser without a server, with the summary.json numbers.
#pragma once

#include "viz/png_output.hpp"
#include "viz/run_data.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace ketaplast::viz {

// Writes out_dir/report.html. `pictures` are files in out_dir (embedded); `data_files` are other files
// in out_dir linked by relative name (.vtp/.pvd for ParaView); `note` is shown on top when not empty
// (e.g. why there are no pictures).
std::filesystem::path write_report(const RunData& run, const std::vector<Picture>& pictures,
                                   const std::vector<std::filesystem::path>& data_files,
                                   const std::filesystem::path& out_dir, const std::string& note);

std::string base64(const std::string& bytes);
std::string html_escape(const std::string& text);

} // namespace ketaplast::viz
