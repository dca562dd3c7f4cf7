#include "sim/config/toml_reader.hpp"

#include <cmath>
#include <iomanip>
#include <sstream>

namespace ketaplast {

namespace {

std::string number_text(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

// " (value)" for scalars, so a type error shows what was written: 8.0 is not an integer, "0.1" not a
// number. Tables and arrays are left out (too long for one line).
std::string shown_value(const toml::node& n) {
    if (n.is_table() || n.is_array()) return "";
    std::ostringstream s;
    n.visit([&](auto&& v) { s << v; });
    return " (" + s.str() + ")";
}

} // namespace

std::string TomlReader::type_name(const toml::node& node) {
    switch (node.type()) {
    case toml::node_type::table:
        return "a table";
    case toml::node_type::array:
        return "an array";
    case toml::node_type::string:
        return "a string";
    case toml::node_type::integer:
        return "an integer";
    case toml::node_type::floating_point:
        return "a number";
    case toml::node_type::boolean:
        return "a boolean";
    default:
        return "a date/time";
    }
}

void TomlReader::fail_missing(const std::string& key, const std::string& reason) const {
    // A required key is checked before the unknown-key check runs, so a misspelt one would only be
    // "missing": point at the present, not yet recognised key that is close to it.
    std::vector<std::string> unknown;
    for (auto&& [k, v] : table_)
        if (!allowed_.count(std::string(k.str()))) unknown.emplace_back(k.str());
    const std::string near = closest_key(key, unknown);
    if (near.empty()) fail(key, reason);
    fail_at(table_.get(near), key, reason + "; found '" + near + "': did you mean '" + key + "'?");
}

void TomlReader::fail(const std::string& key, const std::string& reason) const {
    const auto* n = table_.get(key);
    const auto& src = n ? n->source() : table_.source();
    throw ConfigError(file_, int(src.begin.line), int(src.begin.column), key_path(key), reason);
}

void TomlReader::fail_at(const toml::node* n, const std::string& key, const std::string& reason) const {
    const auto& src = n ? n->source() : table_.source();
    throw ConfigError(file_, int(src.begin.line), int(src.begin.column), key_path(key), reason);
}

std::optional<double> TomlReader::optional_number(const std::string& key, const ParamDef& range) {
    allowed_.insert(key);
    const toml::node* n = table_.get(key);
    if (!n) return std::nullopt;
    if (!n->is_number()) fail(key, "expected a number, got " + type_name(*n) + shown_value(*n));
    const double v = n->value<double>().value();
    if (!std::isfinite(v)) fail(key, "value " + number_text(v) + " is not finite");
    if (!range.accepts(v))
        fail(key, "value " + number_text(v) + " is outside the allowed range " + range.range_text());
    return v;
}

double TomlReader::number(const std::string& key, const ParamDef& range) {
    return optional_number(key, range).value_or(range.default_value);
}

double TomlReader::required_number(const std::string& key, const ParamDef& range) {
    const auto v = optional_number(key, range);
    if (!v) fail_missing(key, "missing (required number, allowed range " + range.range_text() + ")");
    return *v;
}

std::int64_t TomlReader::integer(const std::string& key, std::int64_t default_value, std::int64_t min,
                                 std::int64_t max) {
    allowed_.insert(key);
    const toml::node* n = table_.get(key);
    if (!n) return default_value;
    if (!n->is_integer()) fail(key, "expected an integer, got " + type_name(*n) + shown_value(*n));
    const std::int64_t v = n->value<std::int64_t>().value();
    if (v < min || v > max)
        fail(key, "value " + std::to_string(v) + " is outside the allowed range [" + std::to_string(min) +
                      ", " + std::to_string(max) + "]");
    return v;
}

std::int64_t TomlReader::required_integer(const std::string& key, std::int64_t min, std::int64_t max) {
    if (!table_.get(key)) {
        allowed_.insert(key);
        fail_missing(key, "missing (required integer in [" + std::to_string(min) + ", " +
                              std::to_string(max) + "])");
    }
    return integer(key, 0, min, max);
}

std::string TomlReader::string(const std::string& key, const std::string& default_value) {
    allowed_.insert(key);
    const toml::node* n = table_.get(key);
    if (!n) return default_value;
    if (!n->is_string()) fail(key, "expected a string, got " + type_name(*n) + shown_value(*n));
    return n->value<std::string>().value();
}

std::string TomlReader::required_string(const std::string& key) {
    allowed_.insert(key);
    if (!table_.get(key)) fail_missing(key, "missing (required string)");
    return string(key, "");
}

std::string TomlReader::choice(const std::string& key, const std::vector<std::string>& choices,
                               const std::string& default_value) {
    const std::string v = default_value.empty() ? required_string(key) : string(key, default_value);
    for (const auto& c : choices)
        if (c == v) return v;
    std::string list;
    for (const auto& c : choices)
        list += (list.empty() ? "" : ", ") + c;
    const std::string near = closest_key(v, choices);
    fail(key, "unknown value \"" + v + "\" (allowed: " + list + ")" +
                  (near.empty() ? "" : "; did you mean \"" + near + "\"?"));
}

bool TomlReader::boolean(const std::string& key, bool default_value) {
    allowed_.insert(key);
    const toml::node* n = table_.get(key);
    if (!n) return default_value;
    if (!n->is_boolean()) fail(key, "expected true or false, got " + type_name(*n) + shown_value(*n));
    return n->value<bool>().value();
}

const toml::table* TomlReader::table(const std::string& key) {
    allowed_.insert(key);
    const toml::node* n = table_.get(key);
    if (!n) return nullptr;
    if (!n->is_table()) fail(key, "expected a table, got " + type_name(*n) + shown_value(*n));
    return n->as_table();
}

const toml::array* TomlReader::array(const std::string& key) {
    allowed_.insert(key);
    const toml::node* n = table_.get(key);
    if (!n) return nullptr;
    if (!n->is_array()) fail(key, "expected an array, got " + type_name(*n) + shown_value(*n));
    return n->as_array();
}

std::vector<double> TomlReader::number_array(const std::string& key, std::size_t length,
                                             const ParamDef& range) {
    const toml::array* a = array(key);
    std::vector<double> out;
    if (!a) return out;
    if (length && a->size() != length)
        fail(key, "expected " + std::to_string(length) + " numbers, got " + std::to_string(a->size()));
    for (std::size_t i = 0; i < a->size(); ++i) {
        const toml::node& n = *a->get(i);
        if (!n.is_number())
            fail_at(&n, key,
                    "element " + std::to_string(i) + ": expected a number, got " + type_name(n) +
                        shown_value(n));
        const double v = n.value<double>().value();
        if (!std::isfinite(v) || !range.accepts(v))
            fail_at(&n, key,
                    "element " + std::to_string(i) + ": value " + number_text(v) +
                        " is outside the allowed range " + range.range_text());
        out.push_back(v);
    }
    return out;
}

Distribution TomlReader::distribution(const std::string& key, const ParamDef& range) {
    allowed_.insert(key);
    const toml::node* n = table_.get(key);
    if (!n)
        fail_missing(key,
                     "missing (a number, or a table {dist = \"uniform\" | \"normal\" | \"lognormal\", ...})");
    if (n->is_number()) return Distribution::constant_value(number(key, range));
    if (!n->is_table())
        fail(key, "expected a number or a distribution table, got " + type_name(*n) + shown_value(*n));

    TomlReader sub(*n->as_table(), key_path(key), file_);
    const double inf = std::numeric_limits<double>::infinity();
    const ParamDef any{"", 0.0, -inf, inf, true, true, ""};
    Distribution d;
    const std::string kind = sub.choice("dist", {"constant", "uniform", "normal", "lognormal"}, "");
    if (kind == "constant") {
        d = Distribution::constant_value(sub.required_number("value", range));
    } else if (kind == "uniform") {
        d.kind = Distribution::Kind::uniform;
        d.low = sub.required_number("low", range);
        d.high = sub.required_number("high", range);
        if (!(d.high > d.low)) sub.fail("high", "must be greater than low (" + number_text(d.low) + ")");
    } else {
        d.kind = kind == "normal" ? Distribution::Kind::normal : Distribution::Kind::lognormal;
        const char* mean_key = kind == "normal" ? "mean" : "mean_log";
        const char* sd_key = kind == "normal" ? "sd" : "sd_log";
        sub.allow(
            "min"); // known before a missing mean is reported, so "max" is not taken for a misspelt "mean"
        sub.allow("max");
        d.mean = sub.required_number(mean_key, any);
        d.sd = sub.required_number(sd_key, ParamDef{"", 0.0, 0.0, inf, true, true, ""});
        d.min = sub.number("min", ParamDef{"", range.min, -inf, inf, true, true, ""});
        d.max = sub.number("max", ParamDef{"", range.max, -inf, inf, true, true, ""});
        // A draw must be able to land inside the allowed range: bounds are part of the range check.
        if (!range.accepts(d.min) && std::isfinite(d.min))
            sub.fail("min",
                     "value " + number_text(d.min) + " is outside the allowed range " + range.range_text());
        if (!range.accepts(d.max) && std::isfinite(d.max))
            sub.fail("max",
                     "value " + number_text(d.max) + " is outside the allowed range " + range.range_text());
        if (!std::isfinite(d.min) && std::isfinite(range.min))
            sub.fail("min", "missing: draws must be bounded below by " + number_text(range.min) +
                                " (allowed range " + range.range_text() + ")");
        if (!std::isfinite(d.max) && std::isfinite(range.max))
            sub.fail("max", "missing: draws must be bounded above by " + number_text(range.max) +
                                " (allowed range " + range.range_text() + ")");
        if (!(d.max > d.min)) sub.fail("max", "must be greater than min");
        // Refuse truncations that would almost never accept a draw (endless redrawing).
        if (kind == "normal" && d.sd == 0.0 && !(d.mean >= d.min && d.mean <= d.max))
            sub.fail(mean_key, "with sd = 0 the mean must lie within [min, max]");
        // Drawing redraws until a value lies in [min, max] and gives up after 10000 attempts. Refuse
        // truncations that accept under 1 % of draws: at 1 % giving up has probability
        // 0.99^10000 ~ 1e-44 per value, i.e. never, and no value costs more than ~100 draws.
        if (d.sd > 0.0) {
            auto z = [&](double bound) {
                const double x = kind == "normal" ? bound : (bound > 0.0 ? std::log(bound) : -inf);
                return (x - d.mean) / d.sd;
            };
            // Phi(z) = erfc(-z / sqrt 2) / 2, accurate in the tails.
            auto phi = [](double zz) { return 0.5 * std::erfc(-zz / std::sqrt(2.0)); };
            const double accepted = phi(z(d.max)) - phi(z(d.min));
            if (accepted < 0.01) {
                std::ostringstream share;
                share << std::setprecision(2) << accepted * 100.0;
                sub.fail(mean_key, "only " + share.str() + " % of draws fall within [min, max] = [" +
                                       number_text(d.min) + ", " + number_text(d.max) +
                                       "] (at least 1 % needed): move the mean or widen the bounds");
            }
        }
    }
    sub.finish();
    return d;
}

void TomlReader::finish() const {
    for (auto&& [k, v] : table_) {
        const std::string key(k.str());
        if (allowed_.count(key)) continue;
        const std::vector<std::string> candidates(allowed_.begin(), allowed_.end());
        const std::string near = closest_key(key, candidates);
        std::string allowed_list;
        for (const auto& c : allowed_)
            allowed_list += (allowed_list.empty() ? "" : ", ") + c;
        throw ConfigError(file_, int(k.source().begin.line), int(k.source().begin.column), key_path(key),
                          "unknown key" + (near.empty() ? "" : "; did you mean '" + near + "'?") +
                              " (valid here: " + allowed_list + ")");
    }
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j)
        prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j)
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
        std::swap(prev, cur);
    }
    return prev[b.size()];
}

std::string closest_key(const std::string& key, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_distance = std::max<std::size_t>(2, key.size() / 3) + 1;
    for (const auto& c : candidates) {
        const std::size_t d = edit_distance(key, c);
        if (d < best_distance) {
            best_distance = d;
            best = c;
        }
    }
    return best;
}

} // namespace ketaplast
