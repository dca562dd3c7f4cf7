// Connection rules: degree distributions within binomial confidence bounds, exact degrees where a
// rule fixes them, autapse/multapse switches, drawn weights and delays, positions, and the same
// network for any number of workers.
#include "sim/config/config_loader.hpp"
#include "sim/network/network.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

using namespace ketaplast;

namespace {

struct Edge {
    std::uint32_t source, target; // global ids
    float weight;
    std::uint16_t delay_steps;
    std::uint8_t receptor;
    bool operator<(const Edge& o) const {
        return std::tie(source, target, weight, delay_steps, receptor) <
               std::tie(o.source, o.target, o.weight, o.delay_steps, o.receptor);
    }
    bool operator==(const Edge& o) const {
        return source == o.source && target == o.target && weight == o.weight &&
               delay_steps == o.delay_steps && receptor == o.receptor;
    }
};

std::vector<Edge> edges(const Network& net) {
    std::vector<Edge> out;
    for (const auto& worker : net.shards)
        for (const auto& shard : worker) {
            const std::uint32_t base = net.populations[shard.population].first_gid + shard.local_begin;
            for (std::uint32_t s = 0; s < net.total_neurons; ++s)
                shard.for_each_synapse(
                    s, net.weight_scales,
                    [&](std::uint16_t t, float w, std::uint16_t delay, std::uint8_t receptor, std::uint16_t) {
                        out.push_back({s, base + t, w, delay, receptor});
                    });
        }
    std::sort(out.begin(), out.end());
    return out;
}

std::string network_config(std::uint32_t n_a, std::uint32_t n_b, const std::string& projection) {
    return R"(
[simulation]
dt_ms = 0.1
duration_ms = 1.0
seed = 5
[[populations]]
name = "A"
size = )" + std::to_string(n_a) +
           R"(
model = "lif_cond"
receptors.AMPA = { tau_ms = 2.0, E_rev_mV = 0.0 }
receptors.GABA_A = { tau_ms = 5.0, E_rev_mV = -70.0 }
positions = { layout = "grid", origin_um = [10.0, 20.0, 30.0], extent_um = [100.0, 200.0, 300.0] }
[[populations]]
name = "B"
size = )" + std::to_string(n_b) +
           R"(
model = "lif_cond"
receptors.AMPA = { tau_ms = 2.0, E_rev_mV = 0.0 }
positions = { layout = "column", radius_um = 50.0, depth_um = [100.0, 400.0] }
[[projections]]
)" + projection;
}

Network build(const std::string& toml, std::uint32_t workers, Experiment& keep) {
    keep = load_experiment_from_string(toml, "test.toml");
    return build_network(keep, workers);
}

} // namespace

TEST_CASE("fixed_probability: counts and in-degrees are binomial, no autapses", "[connectivity]") {
    Experiment exp;
    const std::uint32_t n = 800;
    const double p = 0.05;
    Network net = build(network_config(n, 10, R"(source = "A"
target = "A"
receptor = "AMPA"
rule = "fixed_probability"
probability = 0.05
weight_nS = 1.0
delay_ms = 0.5)"),
                        2, exp);
    const auto e = edges(net);
    // Total ~ Binomial(n (n - 1), p): mean 31960, sd ~ 174; 5 sd bound.
    const double pairs = double(n) * (n - 1), mean = pairs * p, sd = std::sqrt(pairs * p * (1 - p));
    CHECK(std::fabs(double(e.size()) - mean) < 5 * sd);
    std::vector<int> indegree(n, 0);
    std::set<std::pair<std::uint32_t, std::uint32_t>> pairs_seen;
    for (const auto& x : e) {
        REQUIRE(x.source != x.target);                           // autapses off
        REQUIRE(pairs_seen.insert({x.source, x.target}).second); // no multapses
        REQUIRE(x.delay_steps == 5);
        ++indegree[x.target];
    }
    // In-degree ~ Binomial(n - 1, p): variance (n-1) p (1-p) = 37.9. The sample variance of 800
    // draws has relative sd sqrt(2/799) = 5 %; bound 20 % (4 sd).
    double s = 0, s2 = 0;
    for (int k : indegree) {
        s += k;
        s2 += double(k) * k;
    }
    const double m = s / n, var = s2 / n - m * m;
    CHECK(m == Approx((n - 1) * p).margin(5 * std::sqrt((n - 1) * p * (1 - p) / n)));
    CHECK(var == Approx((n - 1) * p * (1 - p)).epsilon(0.2));
}

TEST_CASE("fixed_indegree: exact in-degree, distinct sources, autapse switch", "[connectivity]") {
    for (bool autapses : {false, true}) {
        Experiment exp;
        Network net = build(network_config(300, 10, std::string(R"(source = "A"
target = "A"
receptor = "GABA_A"
rule = "fixed_indegree"
indegree = 40
autapses = )") + (autapses ? "true" : "false") + R"(
weight_nS = 2.0
delay_ms = 1.0)"),
                            3, exp);
        const auto e = edges(net);
        std::map<std::uint32_t, std::set<std::uint32_t>> sources;
        int self = 0;
        for (const auto& x : e) {
            REQUIRE(sources[x.target].insert(x.source).second);
            REQUIRE(x.receptor == 1);
            self += x.source == x.target;
        }
        REQUIRE(sources.size() == 300);
        for (auto& [t, s] : sources)
            REQUIRE(s.size() == 40);
        if (!autapses) CHECK(self == 0);
        // With autapses allowed each target picks itself with probability 40/300: expect ~40 of 300.
        if (autapses) CHECK(self > 10);
        // Out-degrees: mean exactly 40; their spread is that of sampling without replacement, ~ sd 6.
        std::vector<int> out(300, 0);
        for (const auto& x : e)
            ++out[x.source];
        CHECK(*std::max_element(out.begin(), out.end()) < 40 + 6 * 7);
    }
}

TEST_CASE("fixed_indegree near the pool size switches to selection sampling", "[connectivity]") {
    Experiment exp;
    Network net = build(network_config(50, 10, R"(source = "A"
target = "B"
receptor = "AMPA"
rule = "fixed_indegree"
indegree = 45
weight_nS = 2.0
delay_ms = 1.0)"),
                        1, exp);
    std::map<std::uint32_t, std::set<std::uint32_t>> sources;
    for (const auto& x : edges(net))
        REQUIRE(sources[x.target].insert(x.source).second);
    REQUIRE(sources.size() == 10);
    for (auto& [t, s] : sources)
        CHECK(s.size() == 45);
}

TEST_CASE("fixed_indegree with multapses draws with replacement", "[connectivity]") {
    Experiment exp;
    Network net = build(network_config(20, 100, R"(source = "A"
target = "B"
receptor = "AMPA"
rule = "fixed_indegree"
indegree = 30
multapses = true
weight_nS = 2.0
delay_ms = 1.0)"),
                        2, exp);
    std::map<std::uint32_t, int> count;
    int repeated = 0;
    std::map<std::uint32_t, std::set<std::uint32_t>> distinct;
    for (const auto& x : edges(net)) {
        ++count[x.target];
        if (!distinct[x.target].insert(x.source).second) ++repeated;
    }
    for (auto& [t, c] : count)
        REQUIRE(c == 30);
    CHECK(repeated > 0); // 30 draws from 20 sources must repeat
}

TEST_CASE("fixed_outdegree: exact out-degree, distinct targets", "[connectivity]") {
    Experiment exp;
    Network net = build(network_config(200, 150, R"(source = "A"
target = "B"
receptor = "AMPA"
rule = "fixed_outdegree"
outdegree = 25
weight_nS = 2.0
delay_ms = 1.0)"),
                        3, exp);
    std::map<std::uint32_t, std::set<std::uint32_t>> targets;
    for (const auto& x : edges(net))
        REQUIRE(targets[x.source].insert(x.target).second);
    REQUIRE(targets.size() == 200);
    for (auto& [s, t] : targets)
        CHECK(t.size() == 25);
}

TEST_CASE("all_to_all and one_to_one", "[connectivity]") {
    Experiment exp;
    Network net = build(network_config(30, 30, R"(source = "A"
target = "A"
receptor = "AMPA"
rule = "all_to_all"
weight_nS = 1.0
delay_ms = 1.0
[[projections]]
source = "A"
target = "B"
receptor = "AMPA"
rule = "one_to_one"
weight_nS = 1.0
delay_ms = 1.0)"),
                        2, exp);
    const auto e = edges(net);
    std::size_t into_a = 0, into_b = 0;
    for (const auto& x : e) {
        if (x.target < 30) {
            ++into_a;
            REQUIRE(x.source != x.target);
        } else {
            ++into_b;
            REQUIRE(x.target - 30 == x.source);
        }
    }
    CHECK(into_a == 30 * 29);
    CHECK(into_b == 30);
}

TEST_CASE("drawn weights and delays follow their distributions", "[connectivity]") {
    Experiment exp;
    Network net = build(network_config(400, 400, R"(source = "A"
target = "B"
receptor = "AMPA"
rule = "fixed_indegree"
indegree = 100
weight_nS = { dist = "normal", mean = 1.0, sd = 0.8, min = 0.0 }
delay_ms = { dist = "uniform", low = 0.1, high = 2.0 }
[[projections]]
source = "B"
target = "A"
receptor = "AMPA"
rule = "fixed_indegree"
indegree = 100
weight_nS = { dist = "lognormal", mean_log = 0.0, sd_log = 0.5 }
delay_ms = { dist = "normal", mean = 1.5, sd = 0.75, min = 0.1 }
)"),
                        2, exp);
    double s_norm = 0, n_norm = 0, s_logw = 0, s_logw2 = 0, n_log = 0;
    double s_delay_u = 0;
    for (const auto& x : edges(net)) {
        if (x.target >= 400) { // A -> B: truncated normal weights, uniform delays on the grid
            REQUIRE(x.weight >= 0.0f);
            REQUIRE(x.delay_steps >= 1);
            REQUIRE(x.delay_steps <= 20);
            s_norm += x.weight;
            s_delay_u += x.delay_steps;
            ++n_norm;
        } else { // B -> A: lognormal weights, truncated normal delays >= 1 step
            REQUIRE(x.weight > 0.0f);
            REQUIRE(x.delay_steps >= 1);
            s_logw += std::log(x.weight);
            s_logw2 += std::log(x.weight) * std::log(x.weight);
            ++n_log;
        }
    }
    // Normal(1, 0.8) truncated at 0 has mean 1 + 0.8 phi(1.25)/Phi(1.25) = 1.2073.
    const double phi = std::exp(-0.5 * 1.25 * 1.25) / std::sqrt(2 * M_PI),
                 Phi = 0.5 * std::erfc(-1.25 / std::sqrt(2.0));
    CHECK(s_norm / n_norm == Approx(1.0 + 0.8 * phi / Phi).margin(0.01)); // se ~ 0.7/200 = 0.0035
    // Uniform [0.1, 2.0) ms rounded to 0.1 ms steps: mean 10.5 steps (rounding halves at both ends).
    CHECK(s_delay_u / n_norm == Approx(10.5).margin(0.1));
    const double mu = s_logw / n_log, var = s_logw2 / n_log - mu * mu;
    CHECK(mu == Approx(0.0).margin(0.01)); // se = 0.5/200
    CHECK(var == Approx(0.25).epsilon(0.03));
}

TEST_CASE("the network is the same for any number of workers", "[connectivity]") {
    const std::string projections = R"(source = "A"
target = "A"
receptor = "AMPA"
rule = "fixed_probability"
probability = 0.1
weight_nS = { dist = "uniform", low = 0.5, high = 1.5 }
delay_ms = { dist = "uniform", low = 0.1, high = 3.0 }
[[projections]]
source = "A"
target = "B"
receptor = "AMPA"
rule = "fixed_outdegree"
outdegree = 20
weight_nS = { dist = "normal", mean = 1.0, sd = 0.3, min = 0.0 }
delay_ms = 1.0
[[projections]]
source = "B"
target = "A"
receptor = "GABA_A"
rule = "fixed_indegree"
indegree = 15
weight_nS = 3.0
delay_ms = 2.0
)";
    Experiment e1, e2, e3;
    const auto ref = edges(build(network_config(500, 333, projections), 1, e1));
    REQUIRE(ref.size() > 10000);
    CHECK(edges(build(network_config(500, 333, projections), 2, e2)) == ref);
    CHECK(edges(build(network_config(500, 333, projections), 7, e3)) == ref);
}

TEST_CASE("positions lie in their layout's volume", "[connectivity]") {
    Experiment e2 = load_experiment_from_string(network_config(64, 500, R"(source = "A"
target = "A"
receptor = "AMPA"
rule = "all_to_all"
weight_nS = 1.0
delay_ms = 1.0)"),
                                                "test.toml");
    Network n2 = build_network(e2, 2);
    const auto& a =
        n2.populations[0]; // grid 4 x 4 x 4 in the box origin (10, 20, 30), extent (100, 200, 300)
    std::set<float> xs;
    for (std::uint32_t i = 0; i < a.size; ++i) {
        REQUIRE(a.x_um[i] > 10.0f);
        REQUIRE(a.x_um[i] < 110.0f);
        REQUIRE(a.y_um[i] > 20.0f);
        REQUIRE(a.y_um[i] < 220.0f);
        REQUIRE(a.z_um[i] > 30.0f);
        REQUIRE(a.z_um[i] < 330.0f);
        xs.insert(a.x_um[i]);
    }
    CHECK(xs.size() == 4);
    const auto& b = n2.populations[1]; // column: radius 50, depth 100..400 below the origin
    double mean_r2 = 0;
    for (std::uint32_t i = 0; i < b.size; ++i) {
        const double r2 = double(b.x_um[i]) * b.x_um[i] + double(b.y_um[i]) * b.y_um[i];
        REQUIRE(r2 <= 50.0 * 50.0 * (1 + 1e-6));
        REQUIRE(b.z_um[i] <= -100.0f);
        REQUIRE(b.z_um[i] >= -400.0f);
        mean_r2 += r2 / b.size;
    }
    // Uniform in a disc: E[r^2] = R^2 / 2 = 1250; sd of the mean ~ 722/sqrt(500) = 32.
    CHECK(mean_r2 == Approx(1250.0).margin(160.0));
}

TEST_CASE("a tiny connection probability gives (almost) no synapses", "[connectivity]") {
    // Geometric skips beyond any integer type must not wrap to 0 (which would connect every pair).
    Experiment exp;
    Network net = build(network_config(300, 300, R"(source = "A"
target = "B"
receptor = "AMPA"
rule = "fixed_probability"
probability = 1e-30
weight_nS = 1.0
delay_ms = 1.0)"),
                        2, exp);
    CHECK(net.synapse_count() == 0);
}
