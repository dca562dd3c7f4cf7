#include "viz/report.hpp"

#include "core/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace ketaplast::viz {

namespace fs = std::filesystem;
using nlohmann::json;

std::string base64(const std::string& bytes) {
    static constexpr char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t k = 0;
    for (; k + 2 < bytes.size(); k += 3) {
        const unsigned v =
            (unsigned char)bytes[k] << 16 | (unsigned char)bytes[k + 1] << 8 | (unsigned char)bytes[k + 2];
        out += table[v >> 18 & 63];
        out += table[v >> 12 & 63];
        out += table[v >> 6 & 63];
        out += table[v & 63];
    }
    if (k + 1 == bytes.size()) {
        const unsigned v = (unsigned char)bytes[k] << 16;
        out += table[v >> 18 & 63];
        out += table[v >> 12 & 63];
        out += "==";
    } else if (k + 2 == bytes.size()) {
        const unsigned v = (unsigned char)bytes[k] << 16 | (unsigned char)bytes[k + 1] << 8;
        out += table[v >> 18 & 63];
        out += table[v >> 12 & 63];
        out += table[v >> 6 & 63];
        out += '=';
    }
    return out;
}

std::string html_escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            out += c;
        }
    }
    return out;
}

namespace {

std::string number(double v) {
    if (std::isnan(v)) return "–";
    char buffer[64];
    if (v != 0 && (std::abs(v) >= 1e6 || std::abs(v) < 1e-3))
        std::snprintf(buffer, sizeof buffer, "%.3e", v);
    else if (v == std::floor(v) && std::abs(v) < 1e15)
        std::snprintf(buffer, sizeof buffer, "%.0f", v);
    else
        std::snprintf(buffer, sizeof buffer, "%.4g", v);
    return buffer;
}

// A JSON scalar as table text; short arrays of scalars joined with commas.
std::string cell(const json& v) {
    if (v.is_null()) return "–";
    if (v.is_string()) return html_escape(v.get<std::string>());
    if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
    if (v.is_number()) return number(v.get<double>());
    if (v.is_array()) {
        std::string out;
        for (const json& e : v)
            out += (out.empty() ? "" : ", ") + cell(e);
        return out;
    }
    return html_escape(v.dump());
}

// A table of objects: one row per object, columns = keys in first-seen order. `first_column` names the
// row key when `rows` is an object of objects (populations), "" for an array.
std::string object_table(const json& rows, const std::string& first_column) {
    std::vector<std::string> columns;
    auto collect = [&](const json& row) {
        if (!row.is_object()) return;
        for (auto it = row.begin(); it != row.end(); ++it)
            if (!it.value().is_object() &&
                std::find(columns.begin(), columns.end(), it.key()) == columns.end())
                columns.push_back(it.key());
    };
    for (auto it = rows.begin(); it != rows.end(); ++it)
        collect(it.value());
    std::ostringstream out;
    out << "<table><tr>";
    if (!first_column.empty()) out << "<th>" << html_escape(first_column) << "</th>";
    for (const std::string& c : columns)
        out << "<th>" << html_escape(c) << "</th>";
    out << "</tr>\n";
    for (auto it = rows.begin(); it != rows.end(); ++it) {
        out << "<tr>";
        if (!first_column.empty()) out << "<td><b>" << html_escape(it.key()) << "</b></td>";
        for (const std::string& c : columns)
            out << "<td>" << (it.value().contains(c) ? cell(it.value()[c]) : "–") << "</td>";
        out << "</tr>\n";
    }
    out << "</table>\n";
    return out.str();
}

// Key/value table of the scalar members of an object (with an optional prefix on the names).
std::string key_value_table(const json& object, const std::vector<std::string>& keys) {
    std::ostringstream out;
    out << "<table>";
    for (const std::string& k : keys)
        if (object.contains(k) && !object[k].is_object())
            out << "<tr><th>" << html_escape(k) << "</th><td>" << cell(object[k]) << "</td></tr>";
    out << "</table>\n";
    return out.str();
}

std::string scalar_members_table(const json& object) {
    std::vector<std::string> keys;
    for (auto it = object.begin(); it != object.end(); ++it)
        if (!it.value().is_object()) keys.push_back(it.key());
    return key_value_table(object, keys);
}

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

constexpr const char* kStyle =
    R"(body { font-family: sans-serif; max-width: 1100px; margin: 2em auto; color: #222; line-height: 1.4 }
h1 { margin-bottom: 0.2em } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 1.6em }
table { border-collapse: collapse; margin: 0.5em 0 1em 0; font-size: 0.92em }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top }
th { background: #f2f2f2 } figure { margin: 1em 0 2em 0 } img { max-width: 100%; border: 1px solid #ddd }
figcaption { color: #444; font-size: 0.92em } .note { background: #fff4d6; border: 1px solid #e6c15c; padding: 0.6em 1em }
.muted { color: #666 })";

} // namespace

fs::path write_report(const RunData& run, const std::vector<Picture>& pictures,
                      const std::vector<fs::path>& data_files, const fs::path& out_dir,
                      const std::string& note) {
    const json& s = run.summary;
    const std::string name = fs::absolute(run.dir).lexically_normal().filename().string().empty()
                                 ? fs::absolute(run.dir).lexically_normal().parent_path().filename().string()
                                 : fs::absolute(run.dir).lexically_normal().filename().string();
    std::ostringstream html;
    html << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Ketaplast run "
         << html_escape(name) << "</title>\n<style>\n"
         << kStyle << "\n</style>\n</head>\n<body>\n";
    html << "<h1>Ketaplast run: " << html_escape(name) << "</h1>\n";
    html << "<p class=\"muted\">Run directory " << html_escape(run.dir.string())
         << ". This page is self-contained: the pictures are embedded, nothing is loaded from "
            "elsewhere.</p>\n";
    if (!note.empty()) html << "<p class=\"note\">" << html_escape(note) << "</p>\n";

    html << "<h2>Run</h2>\n";
    if (s.empty())
        html << "<p class=\"note\">No summary.json: the run has not finished (or was interrupted).</p>\n";
    else
        html << key_value_table(s, {"status", "config", "ketaplast_version", "seed", "threads", "dt_ms",
                                    "duration_ms", "simulated_ms"});

    if (s.contains("populations") && s["populations"].is_object()) {
        html << "<h2>Populations</h2>\n<p>Spikes, mean firing rate per neuron and synapses received.</p>\n"
             << object_table(s["populations"], "population");
    }
    if (s.contains("drugs") && !s["drugs"].empty()) {
        html << "<h2>Drugs</h2>\n<p>Each drug species: its peak plasma and free (receptor) "
                "concentrations.</p>\n"
             << object_table(s["drugs"], s["drugs"].is_object() ? "species" : "");
    }
    if (s.contains("nmda_pools") && !s["nmda_pools"].empty()) {
        html << "<h2>NMDA receptor pools</h2>\n<p>At the last drug-clock tick: fractions of channels held by "
                "the "
                "drug, trapped, open and free to conduct, and the mean NMDA current.</p>\n"
             << object_table(s["nmda_pools"], s["nmda_pools"].is_object() ? "pool" : "");
    }
    if (s.contains("concentration_response") && !s["concentration_response"].empty()) {
        html << "<h2>Concentration-response</h2>\n<p>Inhibition of the NMDA current at the end of each bath "
                "step, "
                "and the fitted IC50 and Hill coefficient where the data allow a fit.</p>\n"
             << object_table(s["concentration_response"],
                             s["concentration_response"].is_object() ? "pool" : "");
    }

    html << "<h2>Pictures</h2>\n";
    if (pictures.empty()) html << "<p>No pictures were rendered.</p>\n";
    for (const Picture& p : pictures) {
        const fs::path file = out_dir / p.file;
        if (!fs::exists(file)) continue; // never reference a picture that is not there
        html << "<figure>\n<h3>" << html_escape(p.title) << "</h3>\n<img alt=\"" << html_escape(p.title)
             << "\" src=\"data:image/png;base64," << base64(read_bytes(file)) << "\">\n<figcaption>"
             << html_escape(p.caption) << "</figcaption>\n</figure>\n";
    }

    if (s.contains("timing") || s.contains("memory")) {
        html << "<h2>Timing and memory</h2>\n";
        if (s.contains("timing")) html << scalar_members_table(s["timing"]);
        if (s.contains("memory")) html << scalar_members_table(s["memory"]);
    }

    html << "<h2>Files for ParaView</h2>\n<p>Open <code>network.pvd</code> in ParaView (File → Open) for the "
            "network in 3D over the weight frames: neurons as points (colour by <code>population</code> or "
            "<code>rate_Hz</code>), synapses as lines (colour by <code>weight</code> or "
            "<code>weight_change</code>). These files sit next to this page.</p>\n<ul>\n";
    for (const fs::path& f : data_files) {
        if (!fs::exists(f)) continue;
        const std::string rel = f.filename().string();
        html << "<li><a href=\"" << html_escape(rel) << "\">" << html_escape(rel) << "</a></li>\n";
    }
    html << "</ul>\n</body>\n</html>\n";

    const fs::path path = out_dir / "report.html";
    {
        std::ofstream out(path.string() + ".tmp", std::ios::binary);
        out << html.str();
        if (!out) throw RunError("cannot write " + path.string());
    }
    fs::rename(path.string() + ".tmp", path);
    return path;
}

} // namespace ketaplast::viz
