// fixed_total_number, network scaling with its compensation, and 16-bit weight storage.
#include "sim/config/config_loader.hpp"
#include "sim/config/network_scaling.hpp"
#include "sim/network/network.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <map>

using namespace ketaplast;

namespace {

std::string two_population_config(const std::string& network, const std::string& projection) {
    return R"(
[simulation]
duration_ms = 1.0
seed = 9
)" + network +
           R"(
[[populations]]
name = "E"
size = 400
model = "lif_curr_exp"
reference_rate_Hz = 4.0
receptors.syn = { tau_ms = 0.5 }
poisson_drive = { receptor = "syn", rate_Hz = 8.0, inputs = 1000.0, weight_pA = 87.8 }
[[populations]]
name = "I"
size = 100
model = "lif_curr_exp"
reference_rate_Hz = 6.0
receptors.syn = { tau_ms = 0.5 }
[[projections]]
)" + projection;
}

std::map<std::uint32_t, std::uint32_t> indegrees(const Network& net, std::vector<float>* weights = nullptr) {
    std::map<std::uint32_t, std::uint32_t> in;
    for (const auto& worker : net.shards)
        for (const auto& shard : worker) {
            const std::uint32_t base = net.populations[shard.population].first_gid + shard.local_begin;
            for (std::uint32_t s = 0; s < net.total_neurons; ++s)
                shard.for_each_synapse(s, net.weight_scales, [&](std::uint16_t t, float w, auto, auto, auto) {
                    ++in[base + t];
                    if (weights) weights->push_back(w);
                });
        }
    return in;
}

} // namespace

TEST_CASE("fixed_total_number places exactly the total, spread multinomially over targets", "[scaling]") {
    const Experiment exp = load_experiment_from_string(two_population_config("", R"(source = "E"
target = "I"
receptor = "syn"
rule = "fixed_total_number"
total = 20000
multapses = true
weight_pA = 10.0
delay_ms = 1.0)"),
                                                       "ftn.toml");
    const Network net = build_network(exp, 3);
    const auto in = indegrees(net);
    std::uint64_t total = 0;
    double s2 = 0;
    for (const auto& [t, k] : in) {
        total += k;
        s2 += double(k) * k;
    }
    CHECK(total == 20000);
    // Each of the 100 targets gets Binomial(20000, 1/100): mean 200, variance 198. The sample
    // variance over 100 targets has relative sd sqrt(2/99) = 14 %: 4 sd bound 57 %.
    const double var = s2 / 100.0 - 200.0 * 200.0;
    CHECK(var == Approx(198.0).epsilon(0.57));
    // The same network for one worker.
    CHECK(indegrees(build_network(exp, 1)) == in);
}

TEST_CASE("fixed_total_number from a probability follows Potjans & Diesmann's formula", "[scaling]") {
    const Experiment exp = load_experiment_from_string(two_population_config("", R"(source = "E"
target = "I"
receptor = "syn"
rule = "fixed_total_number"
probability = 0.1
multapses = true
weight_pA = 10.0
delay_ms = 1.0)"),
                                                       "ftn.toml");
    // K = ln(1 - p) / ln((N_pre N_post - 1) / (N_pre N_post)) with N_pre N_post = 40000.
    const double K = std::log(0.9) / std::log(39999.0 / 40000.0);
    CHECK(double(exp.projections[0].total) == std::round(K));
    CHECK(exp.projections[0].full_indegree == Approx(K / 100.0));
}

TEST_CASE("scaling keeps in-degrees' mean input: weights / sqrt(s) and a DC current", "[scaling]") {
    const std::string projection = R"(source = "E"
target = "I"
receptor = "syn"
rule = "fixed_indegree"
indegree = 200
weight_pA = { dist = "normal", mean = 50.0, sd = 5.0, min = 0.0 }
delay_ms = 1.0)";
    const Experiment full = load_experiment_from_string(two_population_config("", projection), "full.toml");
    const Experiment scaled = load_experiment_from_string(
        two_population_config("[network]\nscale = 0.25", projection), "scaled.toml");
    // Sizes and in-degrees x 0.25.
    CHECK(scaled.populations[0].size == 100);
    CHECK(scaled.populations[1].size == 25);
    CHECK(scaled.projections[0].degree == 50);
    // Weights / sqrt(0.25) = x 2.
    CHECK(scaled.projections[0].weight.mean == Approx(100.0));
    CHECK(scaled.projections[0].weight.sd == Approx(10.0));
    // DC (van Albada et al. 2015; NEST example): 1e-3 tau (1 - sqrt(s)) sum w K_full nu, here
    // into I: 1e-3 * 0.5 ms * 0.5 * 50 pA * 200 * 4 Hz = 10 pA; into E from its drive:
    // 1e-3 * 0.5 * 0.5 * 87.8 pA * 1000 * 8 Hz = 175.6 pA, and the drive keeps 250 inputs at 175.6 pA.
    CHECK(scaled.populations[1].dc_pA == Approx(10.0));
    CHECK(scaled.populations[0].dc_pA == Approx(175.6));
    CHECK(scaled.populations[0].poisson_drive->inputs == 250.0);
    CHECK(scaled.populations[0].poisson_drive->weight == Approx(175.6));
    // Unscaled: nothing changes.
    CHECK(full.populations[1].dc_pA == 0.0);
    CHECK(full.projections[0].weight.mean == 50.0);
    // The mean input to I is the same: K w nu tau (scaled) + DC = K_full w_full nu tau.
    const double mean_full = 200 * 50.0 * 4.0 * 0.5e-3;
    const double mean_scaled = 50 * 100.0 * 4.0 * 0.5e-3 + scaled.populations[1].dc_pA;
    CHECK(mean_scaled == Approx(mean_full));
}

TEST_CASE("scaling without reference rates or with conductance receptors is refused", "[scaling]") {
    std::string text = two_population_config("[network]\nscale = 0.5", R"(source = "E"
target = "I"
receptor = "syn"
rule = "fixed_indegree"
indegree = 20
weight_pA = 5.0
delay_ms = 1.0)");
    const auto pos = text.find("reference_rate_Hz = 4.0\n");
    text.erase(pos, std::string("reference_rate_Hz = 4.0\n").size());
    CHECK_THROWS_WITH(load_experiment_from_string(text, "noref.toml"),
                      Catch::Contains("populations.E.reference_rate_Hz") && Catch::Contains("missing"));
}

TEST_CASE("16-bit weights decode within half a step of the drawn float", "[scaling]") {
    const std::string projection = R"(source = "E"
target = "I"
receptor = "syn"
rule = "fixed_indegree"
indegree = 300
weight_pA = { dist = "normal", mean = -350.0, sd = 35.0, max = 0.0 }
delay_ms = { dist = "normal", mean = 1.5, sd = 0.75, min = 0.1 }
)";
    const Experiment as_float = load_experiment_from_string(two_population_config("", projection), "f.toml");
    const Experiment as_code = load_experiment_from_string(
        two_population_config("[network]\nweight_storage = \"uint16\"", projection), "q.toml");
    std::vector<float> wf, wq;
    const Network nf = build_network(as_float, 2), nq = build_network(as_code, 2);
    indegrees(nf, &wf);
    indegrees(nq, &wq);
    REQUIRE(wf.size() == wq.size());
    REQUIRE(wf.size() == 30000);
    // Range mean +- 8 sd = [-630, -70] on 65535 steps: step 0.00855 pA, error <= 0.0043 pA (+ float
    // rounding of the decoded value, < 4e-5 pA at 600 pA).
    CHECK(nq.max_weight_rounding == Approx(0.5 * 560.0 / 65535.0).epsilon(1e-4));
    double worst = 0;
    for (std::size_t i = 0; i < wf.size(); ++i)
        worst = std::max(worst, double(std::fabs(wf[i] - wq[i])));
    CHECK(worst <= nq.max_weight_rounding + 1e-4);
    // Storage: 4 bytes per synapse plus segments, against 6.
    CHECK(double(nq.synapse_bytes()) < double(nf.synapse_bytes()) - 1.9 * 30000);
}

TEST_CASE("one_to_one projections are not compensated when in-degrees scale", "[scaling]") {
    const Experiment scaled =
        load_experiment_from_string(two_population_config("[network]\nscale = 0.25", R"(source = "E"
target = "E"
receptor = "syn"
rule = "one_to_one"
autapses = true
weight_pA = 100.0
delay_ms = 1.0)"),
                                    "o2o.toml");
    // In-degree 1 at any scale: the weight and the mean input stay; only the drive is compensated.
    CHECK(scaled.projections[0].weight.value == 100.0);
    CHECK(scaled.populations[0].dc_pA == Approx(175.6)); // the Poisson drive's share only
}
