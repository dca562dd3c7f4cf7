// A value that is constant or drawn: weights, delays, initial states.
// Drawing uses the project's counter-based streams (core/random.hpp).
#pragma once

#include "core/random.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace ketaplast {

struct Distribution {
    enum class Kind { constant, uniform, normal, lognormal };
    Kind kind = Kind::constant;
    double value = 0.0;           // constant
    double low = 0.0, high = 0.0; // uniform [low, high)
    double mean = 0.0, sd = 0.0;  // normal: of the value; lognormal: of log(value)
    // Normal draws outside [min, max] are redrawn (a truncated normal, as NEST's "redraw"), so a
    // weight clipped at zero keeps its sign and a delay never falls below its bound.
    double min = -std::numeric_limits<double>::infinity();
    double max = std::numeric_limits<double>::infinity();

    static Distribution constant_value(double v) {
        Distribution d;
        d.value = v;
        return d;
    }
    bool is_constant() const { return kind == Kind::constant; }

    // Smallest and largest value a draw can take (for validation: delays >= dt etc.).
    double lower_bound() const {
        switch (kind) {
        case Kind::constant:
            return value;
        case Kind::uniform:
            return low;
        case Kind::normal:
            return min;
        case Kind::lognormal:
            return std::max(0.0, min);
        }
        return value;
    }
    double upper_bound() const {
        switch (kind) {
        case Kind::constant:
            return value;
        case Kind::uniform:
            return high;
        case Kind::normal:
        case Kind::lognormal:
            return max;
        }
        return value;
    }
    double expected() const {
        switch (kind) {
        case Kind::constant:
            return value;
        case Kind::uniform:
            return 0.5 * (low + high);
        case Kind::normal:
            return mean;
        case Kind::lognormal:
            return std::exp(mean + 0.5 * sd * sd);
        }
        return value;
    }

    double draw(RandomStream& rng) const {
        switch (kind) {
        case Kind::constant:
            return value;
        case Kind::uniform:
            return rng.uniform(low, high);
        case Kind::normal:
        case Kind::lognormal:
            for (int attempt = 0; attempt < 10000; ++attempt) {
                const double z = rng.normal(mean, sd);
                const double v = kind == Kind::normal ? z : std::exp(z);
                if (v >= min && v <= max) return v;
            }
            throw std::runtime_error("truncated distribution: no value within [min, max] after 10000 draws");
        }
        return value;
    }
};

} // namespace ketaplast
