// How a model declares its parameters: name with unit, default, allowed range, one-line meaning.
// The config loader validates against this schema (unknown keys, ranges) and the CLI prints it
// (`ketaplast models`), so docs/config.md and error messages come from one place.
#pragma once

#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace ketaplast {

struct ParamDef {
    std::string key; // with unit suffix: C_pF, tau_ms, E_rev_mV
    double default_value = 0.0;
    double min = -std::numeric_limits<double>::infinity();
    double max = std::numeric_limits<double>::infinity();
    bool min_inclusive = true;
    bool max_inclusive = true;
    std::string meaning; // one line, with the source of the default

    bool accepts(double v) const {
        const bool lo = min_inclusive ? v >= min : v > min;
        const bool hi = max_inclusive ? v <= max : v < max;
        return lo && hi;
    }
    std::string range_text() const;
};

using ParamSchema = std::vector<ParamDef>;

// Validated parameter values of one population (every schema key present).
class ParamValues {
  public:
    void set(const std::string& key, double v) { values_[key] = v; }
    double get(const std::string& key) const {
        const auto it = values_.find(key);
        if (it == values_.end()) throw std::logic_error("parameter '" + key + "' not in schema");
        return it->second;
    }
    bool has(const std::string& key) const { return values_.count(key) != 0; }
    const std::map<std::string, double>& all() const { return values_; }

    static ParamValues defaults(const ParamSchema& schema) {
        ParamValues values;
        for (const auto& def : schema)
            values.set(def.key, def.default_value);
        return values;
    }

  private:
    std::map<std::string, double> values_;
};

inline std::string ParamDef::range_text() const {
    auto num = [](double x) {
        if (x == std::numeric_limits<double>::infinity()) return std::string("inf");
        if (x == -std::numeric_limits<double>::infinity()) return std::string("-inf");
        std::string s = std::to_string(x);
        s.erase(s.find_last_not_of('0') + 1);
        if (!s.empty() && s.back() == '.') s.pop_back();
        return s;
    };
    return std::string(min_inclusive ? "[" : "(") + num(min) + ", " + num(max) + (max_inclusive ? "]" : ")");
}

} // namespace ketaplast
