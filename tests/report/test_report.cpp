// Results tables: aggregation over seeds (hand-computed mean and population std), the statistics
// (percentile, IQM, bootstrap intervals against exact enumeration), paper tables (categories, IQM,
// flags) in Markdown/LaTeX, CSV reading errors, and `dipole report` end to end on hand-written run
// directories (sweep layout, ablation keys, last-k source, offline → online, ω selection).
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "dipole/app/report.hpp"
#include "dipole/core/evaluator.hpp"
#include "dipole/errors.hpp"
#include "dipole/sdk/npz.hpp"
#include "support/run_command.hpp"

namespace {

namespace fs = std::filesystem;
using dipole::report::RunScore;

TEST(Report, AggregatesSeedsIntoMeanAndPopulationStd) {
  const auto cells = dipole::report::aggregate({{"walker stand", "dipole", "0", 1.0},
                                                {"walker stand", "fql", "0", 10.0},
                                                {"walker stand", "dipole", "1", 2.0},
                                                {"walker walk", "dipole", "0", 5.0},
                                                {"walker stand", "dipole", "2", 3.0}});
  ASSERT_EQ(cells.size(), 3U);
  EXPECT_EQ(cells[0].row, "walker stand");
  EXPECT_EQ(cells[0].column, "dipole");
  EXPECT_EQ(cells[0].values, (std::vector<double>{1.0, 2.0, 3.0}));
  EXPECT_DOUBLE_EQ(cells[0].mean, 2.0);
  EXPECT_DOUBLE_EQ(cells[0].std, std::sqrt(2.0 / 3.0));  // ddof = 0
  EXPECT_EQ(cells[1].column, "fql");
  EXPECT_DOUBLE_EQ(cells[1].std, 0.0);
  EXPECT_EQ(cells[2].row, "walker walk");
}

TEST(Report, PercentileInterpolatesLinearlyAsNumPy) {
  using dipole::report::percentile;
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 0.25), 1.75);  // numpy.percentile([1,2,3,4], 25)
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(percentile({7}, 0.3), 7.0);
  EXPECT_THROW(percentile({}, 0.5), dipole::DataError);
}

TEST(Report, IqmTrimsAQuarterAtEachEndAsScipyTrimMean) {
  using dipole::report::iqm;
  EXPECT_DOUBLE_EQ(iqm({8, 7, 6, 5, 4, 3, 2, 1}), 4.5);  // drops 1, 2 and 7, 8
  EXPECT_DOUBLE_EQ(iqm({1, 2, 3, 4, 100}), 3.0);         // int(1.25) = 1 value cut at each end
  EXPECT_DOUBLE_EQ(iqm({1, 2, 6}), 3.0);                 // int(0.75) = 0: the plain mean
  EXPECT_THROW(iqm({}), dipole::DataError);
}

TEST(Report, BootstrapIntervalMatchesExactEnumerationOfResamples) {
  // The 27 equally likely resamples of {1, 2, 6} have means whose CDF is (hand-enumerated)
  // 1: 1/27, 4/3: 4/27, 5/3: 7/27, 2: 8/27, 8/3: 11/27, 3: 17/27, 10/3: 20/27, 13/3: 23/27, 14/3: 26/27,
  // 6: 1. Quantiles 0.025/0.975 are 1 and 6; 0.2/0.8 are 5/3 and 13/3 (all well inside a plateau).
  using dipole::report::bootstrap_mean;
  const auto wide = bootstrap_mean({1, 2, 6}, 20000, 7, 0.95);
  EXPECT_DOUBLE_EQ(wide.low, 1.0);
  EXPECT_DOUBLE_EQ(wide.high, 6.0);
  const auto narrow = bootstrap_mean({1, 2, 6}, 20000, 7, 0.6);
  EXPECT_NEAR(narrow.low, 5.0 / 3.0, 1e-12);
  EXPECT_NEAR(narrow.high, 13.0 / 3.0, 1e-12);
  // {0, 1}: means 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4.
  const auto pair = bootstrap_mean({0, 1}, 4000, 3, 0.4);
  EXPECT_DOUBLE_EQ(pair.low, 0.5);
  EXPECT_DOUBLE_EQ(pair.high, 0.5);
  // Reproducible: the same seed gives the same interval; continuous data, another seed another one.
  const std::vector<double> data = {0.3, 1.7, 2.2, 4.1, 5.9, 6.5, 8.0, 9.4};
  const auto a = bootstrap_mean(data, 500, 11), b = bootstrap_mean(data, 500, 11),
             c = bootstrap_mean(data, 500, 12);
  EXPECT_EQ(a.low, b.low);
  EXPECT_EQ(a.high, b.high);
  EXPECT_TRUE(a.low != c.low || a.high != c.high);
  EXPECT_LT(a.low, dipole::report::mean(data));
  EXPECT_GT(a.high, dipole::report::mean(data));
}

TEST(Report, IqmBootstrapIsStratifiedOverTasks) {
  // Stratified: every resample keeps four runs of each task, so the IQM of {0,0,0,0,1,1,1,1} is always
  // 0.5 (an unstratified resample of the 8 runs would vary).
  const auto interval = dipole::report::bootstrap_iqm({{0, 0, 0, 0}, {1, 1, 1, 1}}, 2000, 5);
  EXPECT_DOUBLE_EQ(interval.low, 0.5);
  EXPECT_DOUBLE_EQ(interval.high, 0.5);
  const auto varied = dipole::report::bootstrap_iqm({{0, 4, 8, 12}, {1, 2}}, 2000, 5);
  EXPECT_LT(varied.low, varied.high);
}

TEST(Report, CategoriesOfOgbenchTaskNames) {
  using dipole::report::category_of;
  EXPECT_EQ(category_of("cube-single-play-singletask-task3-v0"), "cube-single-play");
  EXPECT_EQ(category_of("cube-single-play-task1"), "cube-single-play");
  EXPECT_EQ(category_of("antmaze-large-navigate task5"), "antmaze-large-navigate");
  EXPECT_EQ(category_of("walker stand"), std::nullopt);
  EXPECT_EQ(category_of("task1"), std::nullopt);
}

std::vector<RunScore> ogbench_scores() {
  return {{"cube-single-play-task1", "dipole", "0", 20},
          {"cube-single-play-task1", "dipole", "1", 40},
          {"cube-single-play-task1", "dipole", "2", 60},
          {"cube-single-play-task1", "fql", "0", 10},
          {"cube-single-play-task1", "fql", "1", 30},
          {"cube-single-play-task2", "dipole", "0", 60, 0.5},
          {"cube-single-play-task2", "dipole", "1", 80, 1.0},
          {"cube-single-play-task2", "dipole", "2", 100, 0.75},
          {"cube-single-play-task2", "fql", "0", 50, 0.1},
          {"cube-single-play-task2", "fql", "1", 50},
          {"cube-single-play-task2", "fql", "2", 50}};
}

TEST(Report, PaperTableWithCategoryMeansIqmSeedCountsAndClipFlags) {
  dipole::report::TableOptions options;
  options.corner = "success";
  options.iqm = true;
  const auto table = dipole::report::build_table(dipole::report::aggregate(ogbench_scores()), options);
  const std::string markdown = dipole::report::to_markdown(table);
  // Hand-computed: task1 dipole {20,40,60} → 40 ± 16.33; fql {10,30} → 20 ± 10 (2 of the column's 3
  // seeds); category per seed: dipole (20+60)/2, (40+80)/2, (60+100)/2 = 40, 60, 80 → 60 ± 16.33; fql on the
  // seeds that ran both tasks: 30, 40 → 35 ± 5. IQM dipole {20,40,60,60,80,100} drops one value at each
  // end → 60; fql {10,30,50,50,50} → (30+50+50)/3 = 43.3. dipole on task2: clipped fraction (0.5+1+0.75)/3 =
  // 0.75 ≥ 0.5.
  EXPECT_EQ(markdown.substr(0, markdown.find("\n\n")),
            "| success | dipole | fql |\n"
            "|---|---:|---:|\n"
            "| cube-single-play-task1 | 40.0 ± 16.3 | 20.0 ± 10.0 (n=2) |\n"
            "| cube-single-play-task2 | 80.0 ± 16.3 † | 50.0 ± 0.0 |\n"
            "| **cube-single-play (2 tasks)** | 60.0 ± 16.3 | 35.0 ± 5.0 (n=2) |\n"
            "| **IQM (runs × tasks)** | 60.0 (n=6) | 43.3 (n=5) |\n"
            "| seeds | 3 | 3 |");
  EXPECT_NE(markdown.find("category means use only the seeds that ran every task"), std::string::npos);
  EXPECT_NE(markdown.find("dipole on cube-single-play-task2: 0.75"), std::string::npos) << markdown;
  EXPECT_EQ(markdown.find("fql on cube-single-play-task2"), std::string::npos)
      << markdown;  // 0.1: not flagged
  const std::string csv = dipole::report::to_csv(table);
  EXPECT_NE(csv.find("cube-single-play (2 tasks),category,fql,2,35,5,,,,0,30;40\n"), std::string::npos)
      << csv;
  EXPECT_NE(csv.find("cube-single-play-task2,task,dipole,3,80,16.32993161855452,,,0.75,1,60;80;100\n"),
            std::string::npos)
      << csv;

  options.iqm = false;
  options.categories = false;
  options.clip_threshold = 0.95;
  const auto plain = dipole::report::build_table(dipole::report::aggregate(ogbench_scores()), options);
  EXPECT_EQ(dipole::report::to_latex(plain),
            "\\begin{tabular}{lrr}\n\\toprule\n"
            "success & dipole & fql \\\\\n\\midrule\n"
            "cube-single-play-task1 & $40.0 \\pm 16.3$ & $20.0 \\pm 10.0$ (n=2) \\\\\n"
            "cube-single-play-task2 & $80.0 \\pm 16.3$ & $50.0 \\pm 0.0$ \\\\\n"
            "\\midrule\nseeds & 3 & 3 \\\\\n\\bottomrule\n\\end{tabular}\n");
}

TEST(Report, TableIntervalsAreTheBootstrapOfEachCell) {
  dipole::report::TableOptions options;
  options.bootstrap = 20000;
  options.bootstrap_seed = 1;
  options.precision = 2;
  const auto table = dipole::report::build_table(
      dipole::report::aggregate({{"t", "m ω=1", "0", 1}, {"t", "m ω=1", "1", 2}, {"t", "m ω=1", "2", 6}}),
      options);
  // mean 3, population std sqrt(14/3) = 2.16; 95 % interval [1, 6] as enumerated above.
  const std::string markdown = dipole::report::to_markdown(table);
  EXPECT_NE(markdown.find("| t | 3.00 ± 2.16 [1.00, 6.00] |"), std::string::npos) << markdown;
  EXPECT_NE(markdown.find("95 % percentile bootstrap interval (20000 resamples"), std::string::npos)
      << markdown;
  const std::string latex = dipole::report::to_latex(table);
  EXPECT_NE(latex.find("t & $3.00 \\pm 2.16$ [1.00, 6.00] \\\\"), std::string::npos) << latex;
  EXPECT_NE(latex.find("m $\\omega$=1"), std::string::npos) << latex;
}

TEST(Report, RefusesTheSameSeedTwiceInOneCell) {
  try {
    dipole::report::aggregate({{"cube", "fql", "3", 1.0}, {"cube", "fql", "3", 2.0}});
    FAIL() << "expected DataError";
  } catch (const dipole::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("same seed 3"), std::string::npos) << e.what();
  }
}

TEST(Report, MarkdownTableHasOneRowPerTaskAndADashForMissingRuns) {
  const auto cells = dipole::report::aggregate(
      {{"stand", "dipole", "0", 900.0}, {"stand", "dipole", "1", 800.0}, {"walk", "fql", "0", 300.25}});
  EXPECT_EQ(dipole::report::markdown_table(cells, "task", 1),
            "| task | dipole | fql |\n"
            "|---|---:|---:|\n"
            "| stand | 850.0 ± 50.0 | – |\n"
            "| walk | – | 300.2 ± 0.0 |\n");
  EXPECT_EQ(dipole::report::csv_table(cells),
            "row,column,seeds,mean,std,values\nstand,dipole,2,850,50,900;800\nwalk,fql,1,300.25,0,300.25\n");
}

class ReportFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("dipole_report_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
            "_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const fs::path& relative, const std::string& text) {
    fs::create_directories((dir_ / relative).parent_path());
    std::ofstream(dir_ / relative) << text;
  }
  fs::path dir_;
};

TEST_F(ReportFiles, CsvWithARaggedRowNamesFileAndLine) {
  write("bad.csv", "step,value\n1,2\n3\n");
  try {
    dipole::report::read_csv((dir_ / "bad.csv").string());
    FAIL() << "expected DataError";
  } catch (const dipole::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv:3: 1 cells, the header has 2"), std::string::npos)
        << e.what();
  }
}

std::string run_cli(const std::string& args, int* code) {
  const auto r = dipole::test::dipole_cli(args);
  *code = r.code;
  return r.output;
}

std::string pipeline(const std::string& algorithm, int seed, const std::string& task) {
  return "[trainer]\nseed = " + std::to_string(seed) +
         "\n[dataset]\ntype = \"exorl\"\ndomain = \"walker\"\ntask = \"" + task +
         "\"\n[algorithm]\ntype = \"" + algorithm + "\"\n";
}

TEST_F(ReportFiles, CliAggregatesSweepsAndFinalEvaluationsOverSeeds) {
  // DIPOLE: two seeds evaluated by `dipole eval` at ω = 0 and 1; FQL: final training evaluation only.
  for (int seed : {0, 1}) {
    const std::string run = "runs/dipole_" + std::to_string(seed);
    write(run + "/pipeline.resolved.toml", pipeline("dipole", seed, "stand"));
    write(run + "/eval_sweep.csv",
          "step,omega,num_candidates,episodes,return_mean,return_std,success_rate,length_mean\n"
          "100,0,-,10," +
              std::to_string(100 + 10 * seed) + ",1,0,1000\n100,1,-,10," + std::to_string(200 + 20 * seed) +
              ",1,0,1000\n");
    write(run + "/eval.csv",
          "step,eval/return_mean,eval/return_std,eval/success_rate,eval/length_mean\n"
          "50,10,0,0,1000\n100,20,0,0,1000\n");
  }
  write("runs/fql_0/pipeline.resolved.toml", pipeline("fql", 0, "stand"));
  write("runs/fql_0/eval.csv",
        "step,eval/return_mean,eval/return_std,eval/success_rate,eval/"
        "length_mean\n50,30,0,0,1000\n100,40,0,0,1000\n");
  int code = 0;
  const std::string output =
      run_cli("report " + (dir_ / "runs").string() + " --out " + (dir_ / "out").string(), &code);
  ASSERT_EQ(code, 0) << output;
  std::ifstream in(dir_ / "out" / "report.md");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("| return | dipole ω=0 | dipole ω=1 | fql |"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("| walker stand | 105.0 ± 5.0 | 210.0 ± 10.0 | 40.0 ± 0.0 |"), std::string::npos)
      << text.str();
  EXPECT_TRUE(fs::exists(dir_ / "out" / "report.csv"));
  // Plot data is written even where gnuplot is missing: learning curve means over seeds per step.
  std::ifstream curve(dir_ / "out" / "learning_curve_walker_stand.png.dat");
  std::stringstream data;
  data << curve.rdbuf();
  EXPECT_NE(data.str().find("# dipole\n50 10 0\n100 20 0\n"), std::string::npos) << data.str();
  EXPECT_TRUE(fs::exists(dir_ / "out" / "return_vs_omega_walker_stand.png.dat"));
}

TEST_F(ReportFiles, CliNamesARunWithoutEvaluations) {
  write("runs/a/pipeline.resolved.toml", pipeline("dipole", 0, "walk"));
  int code = 0;
  const std::string output =
      run_cli("report " + (dir_ / "runs").string() + " --out " + (dir_ / "o").string(), &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(output.find("neither eval.csv nor eval_sweep.csv"), std::string::npos) << output;
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

const char* kEvalHeader = "step,eval/return_mean,eval/return_std,eval/success_rate,eval/length_mean";

std::string ogbench_pipeline(int seed, double beta) {
  return "[trainer]\nseed = " + std::to_string(seed) +
         "\n[dataset]\ntype = \"ogbench\"\n[algorithm]\ntype = \"dipole\"\n[weighting]\nbeta = " +
         std::to_string(beta) + "\n";
}

TEST_F(ReportFiles, CliReadsTheSweepLayoutWithCategoryMeansAndTheLastKSource) {
  // success at steps 100, 200, 300; the source is the mean of the last two (steps 200, 300), in %.
  struct Run {
    int task, beta, seed;
    double at200, at300;
  };
  const Run runs[] = {{1, 1, 0, 0.25, 0.25}, {1, 1, 1, 0.25, 0.75}, {1, 3, 0, 0.5, 1.0}, {1, 3, 1, 0.5, 1.0},
                      {2, 1, 0, 0.25, 0.25}, {2, 1, 1, 0.5, 0.5},   {2, 3, 0, 1.0, 1.0}, {2, 3, 1, 0.5, 0.5}};
  for (const auto& r : runs) {
    const std::string dir =
        fmt::format("sweep/cube-single-play-task{}/dipole/beta={}/seed{}", r.task, r.beta, r.seed);
    write(dir + "/pipeline.resolved.toml", ogbench_pipeline(r.seed, r.beta));
    write(dir + "/eval.csv",
          fmt::format("{}\n100,0,0,0,10\n200,0,0,{},10\n300,0,0,{},10\n", kEvalHeader, r.at200, r.at300));
  }
  int code = 0;
  const std::string output =
      run_cli("report " + (dir_ / "sweep").string() + " --out " + (dir_ / "out").string() +
                  " --metric success_rate --scale 100 --last 2",
              &code);
  ASSERT_EQ(code, 0) << output;
  const std::string md = read(dir_ / "out" / "report.md");
  // task1: β=1 seeds (25+25)/2 = 25, (25+75)/2 = 50 → 37.5 ± 12.5; β=3: 75, 75. task2: β=1 25, 50; β=3
  // 100, 50. Category per seed: β=1 (25+25)/2, (50+50)/2 → 37.5 ± 12.5; β=3 (75+100)/2, (75+50)/2 → 75
  // ± 12.5.
  EXPECT_NE(md.find("source: average of the last 2 evaluations of eval.csv"), std::string::npos) << md;
  EXPECT_NE(md.find("| success | dipole beta=1 | dipole beta=3 |\n|---|---:|---:|\n"
                    "| cube-single-play-task1 | 37.5 ± 12.5 | 75.0 ± 0.0 |\n"
                    "| cube-single-play-task2 | 37.5 ± 12.5 | 75.0 ± 25.0 |\n"
                    "| **cube-single-play (2 tasks)** | 37.5 ± 12.5 | 75.0 ± 12.5 |\n"
                    "| seeds | 2 | 2 |\n"),
            std::string::npos)
      << md;
  EXPECT_NE(read(dir_ / "out" / "report.tex").find("\\begin{tabular}{lrr}"), std::string::npos);
  EXPECT_NE(
      read(dir_ / "out" / "report.csv").find("cube-single-play (2 tasks),category,dipole beta=3,2,75,12.5,"),
      std::string::npos);
  // The ablation plot: success against β, one line per method; learning curves with bands.
  EXPECT_NE(read(dir_ / "out" / "ablation_beta_cube_single_play_task1.png.dat")
                .find("# dipole\n1 37.5 12.5\n3 75 0\n"),
            std::string::npos);
  EXPECT_NE(read(dir_ / "out" / "learning_curve_cube_single_play_task2.png.gp").find("filledcurves"),
            std::string::npos);
  EXPECT_EQ(output.find("gnuplot unavailable or failed"), std::string::npos) << output;
  EXPECT_TRUE(fs::exists(dir_ / "out" / "ablation_beta_cube_single_play_task1.png"));
  // Too few evaluations for the source: an error naming the file.
  const std::string too_many = run_cli("report " + (dir_ / "sweep").string() + " --out " +
                                           (dir_ / "out2").string() + " --source last --last 4",
                                       &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(too_many.find("eval.csv: 3 evaluations, --last 4 needs 4"), std::string::npos) << too_many;
}

TEST_F(ReportFiles, CliSplitsColumnsByPipelineKeysThatDifferBetweenRuns) {
  for (int seed : {0, 1})
    for (double beta : {1.0, 3.0}) {
      const std::string run = fmt::format("runs/b{}_s{}", beta, seed);
      write(run + "/pipeline.resolved.toml", ogbench_pipeline(seed, beta));
      write(run + "/eval.csv", fmt::format("{}\n100,{},0,0,10\n", kEvalHeader, beta * 10 + seed));
    }
  int code = 0;
  const std::string output =
      run_cli("report " + (dir_ / "runs").string() + " --out " + (dir_ / "out").string(), &code);
  ASSERT_EQ(code, 0) << output;
  const std::string md = read(dir_ / "out" / "report.md");
  EXPECT_NE(md.find("| return | dipole weighting.beta=1.0 | dipole weighting.beta=3.0 |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| ogbench | 10.5 ± 0.5 | 30.5 ± 0.5 |"), std::string::npos) << md;
  EXPECT_NE(md.find("source: final evaluation"), std::string::npos) << md;
}

TEST_F(ReportFiles, CliOfflineToOnlineTableAndPhaseBoundary) {
  // Two seeds of an offline → online run (CONTRACTS: phase column), one offline-only baseline.
  const double offline_end[] = {0.25, 0.5}, online_final[] = {0.5, 1.0};
  for (int seed : {0, 1}) {
    const std::string run = "runs/o2o_" + std::to_string(seed);
    write(run + "/pipeline.resolved.toml", pipeline("dipole", seed, "cube-double-play"));
    write(run + "/eval.csv", fmt::format("{},phase\n500,0,0,0,10,offline\n1000,0,0,{},10,offline\n"
                                         "1500,0,0,0.375,10,online\n2000,0,0,{},10,online\n",
                                         kEvalHeader, offline_end[seed], online_final[seed]));
    write(run + "/metrics.csv",
          "step,loss,phase\n999,1,offline\n1000,1,offline\n1001,1,online\n2000,1,online\n");
  }
  write("runs/fql/pipeline.resolved.toml", pipeline("fql", 0, "cube-double-play"));
  write("runs/fql/eval.csv", std::string(kEvalHeader) + "\n1000,0,0,0.5,10\n");
  int code = 0;
  const std::string output = run_cli("report " + (dir_ / "runs").string() + " --out " +
                                         (dir_ / "out").string() + " --metric success_rate --scale 100",
                                     &code);
  ASSERT_EQ(code, 0) << output;
  const std::string md = read(dir_ / "out" / "report.md");
  // Main table: final values (online for the o2o runs). Pair table: 37.5 ± 12.5 → 75.0 ± 25.0.
  EXPECT_NE(md.find("| success | fql | dipole |\n|---|---:|---:|\n| walker cube-double-play | 50.0 ± 0.0 | "
                    "75.0 ± 25.0 |\n"),
            std::string::npos)
      << md;
  // gnuplot (scripts/setup.sh) renders the banded curves and the boundary line.
  EXPECT_EQ(output.find("gnuplot unavailable or failed"), std::string::npos) << output;
  EXPECT_TRUE(fs::exists(dir_ / "out" / "learning_curve_walker_cube_double_play.png"));
  EXPECT_NE(md.find("offline → online (the paper's Table 3)"), std::string::npos) << md;
  EXPECT_NE(
      md.find("| success | dipole |\n|---|---:|\n| walker cube-double-play | 37.5 ± 12.5 → 75.0 ± 25.0 |\n"
              "| seeds | 2 |\n"),
      std::string::npos)
      << md;
  EXPECT_NE(read(dir_ / "out" / "report.tex").find("$37.5 \\pm 12.5 \\rightarrow 75.0 \\pm 25.0$"),
            std::string::npos);
  EXPECT_EQ(read(dir_ / "out" / "report_offline_online.csv"),
            "row,kind,column,seeds,offline_mean,offline_std,online_mean,online_std\n"
            "walker cube-double-play,task,dipole,2,37.5,12.5,75,25\n");
  // The learning curve spans both phases, with a vertical line at the last offline update.
  const std::string gp = read(dir_ / "out" / "learning_curve_walker_cube_double_play.png.gp");
  EXPECT_NE(gp.find("set arrow from 1000, graph 0 to 1000, graph 1"), std::string::npos) << gp;
  EXPECT_NE(read(dir_ / "out" / "learning_curve_walker_cube_double_play.png.dat")
                .find("# dipole\n500 0 0\n1000 37.5 12.5\n1500 37.5 0\n2000 75 25\n"),
            std::string::npos);
}

std::string eval_table(long long eval_seed, const std::vector<double>& returns,
                       const std::vector<double>& clipped) {
  std::string text =
      "step,omega,num_candidates,episodes,return_mean,return_std,success_rate,length_mean,eval_seed,"
      "clipped_fraction,action_mean,action_std\n";
  const char* omegas[] = {"0", "1", "3"};
  for (std::size_t i = 0; i < returns.size(); ++i)
    text += fmt::format("100,{},-,10,{},0,0,1,{},{},0.5,0.1\n", omegas[i], returns[i], eval_seed, clipped[i]);
  return text;
}

TEST_F(ReportFiles, CliSelectsOmegaOnSeparateEpisodesAndFlagsClippedSettings) {
  // Selection table (eval seeds 2000000..2000009): ω = 1 is best on average over seeds. The fresh
  // table (1000000..1000009) would prefer ω = 3, which the selection must not see.
  for (int seed : {0, 1}) {
    const std::string run = "runs/d" + std::to_string(seed);
    write(run + "/pipeline.resolved.toml", pipeline("dipole", seed, "stand"));
    write(run + "/eval_select.csv", eval_table(2000000, {1.0, 5.0 + seed, 4.0}, {0, 0.1, 0.9}));
    write(run + "/eval_sweep.csv", eval_table(1000000, {2.0, 10.0 + 2 * seed, 50.0}, {0, 0.2, 0.95}));
  }
  int code = 0;
  const std::string output = run_cli("report " + (dir_ / "runs").string() + " --out " +
                                         (dir_ / "out").string() + " --select-omega eval_select.csv",
                                     &code);
  ASSERT_EQ(code, 0) << output;
  const std::string md = read(dir_ / "out" / "report.md");
  EXPECT_NE(md.find("| return | dipole ω=0 | dipole ω=1 | dipole ω=3 | dipole ω* |"), std::string::npos)
      << md;
  EXPECT_NE(md.find("| walker stand | 2.0 ± 0.0 | 11.0 ± 1.0 | 50.0 ± 0.0 † | 11.0 ± 1.0 |"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("dipole on walker stand: ω*=1"), std::string::npos) << md;
  EXPECT_NE(md.find("dipole ω=3 on walker stand: 0.95"), std::string::npos) << md;
  // The flag threshold is configurable.
  run_cli(
      "report " + (dir_ / "runs").string() + " --out " + (dir_ / "o2").string() + " --clip-threshold 0.99",
      &code);
  EXPECT_EQ(read(dir_ / "o2" / "report.md").find("†"), std::string::npos);

  // Selecting on the episodes that are reported is refused.
  write("runs/d0/eval_select.csv", eval_table(1000005, {1, 5, 4}, {0, 0, 0}));
  const std::string overlap = run_cli("report " + (dir_ / "runs").string() + " --out " +
                                          (dir_ / "o3").string() + " --select-omega eval_select.csv",
                                      &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(overlap.find("share evaluation episodes"), std::string::npos) << overlap;
}

TEST(ActionStats, CountsComponentsAtTheBoundsAndPerDimensionMoments) {
  dipole::ActionStats stats;
  // 3 actions × 2 dims: components at ±1 (within 1e-6) count as clipped: 1.0, -1.0, 0.9999995 → 3 of 6.
  stats.add(at::tensor({1.0, 0.5, -1.0, 0.0, 0.25, 0.9999995}, at::kDouble).reshape({3, 2}));
  EXPECT_EQ(stats.count, 3);
  EXPECT_EQ(stats.clipped, 3);
  EXPECT_DOUBLE_EQ(stats.clipped_fraction(), 0.5);
  stats.add(at::tensor({0.0, 0.0}, at::kDouble).reshape({1, 2}));  // 3 of 8
  EXPECT_DOUBLE_EQ(stats.clipped_fraction(), 3.0 / 8.0);
  const auto mean = stats.mean(), std = stats.stddev();
  EXPECT_DOUBLE_EQ(mean[0], (1.0 - 1.0 + 0.25 + 0.0) / 4.0);
  EXPECT_NEAR(mean[1], (0.5 + 0.0 + 0.9999995 + 0.0) / 4.0, 1e-12);
  // dimension 0: values 1, -1, 0.25, 0 → mean 0.0625, E[x²] = 2.0625/4.
  EXPECT_NEAR(std[0], std::sqrt(2.0625 / 4.0 - 0.0625 * 0.0625), 1e-12);
  EXPECT_THROW(stats.add(at::zeros({1, 3})), dipole::Error);
}

TEST_F(ReportFiles, EvalRecordsClippingAndDumpsActionsThatReproduceIt) {
  // DIPOLE on the bandit after 20 updates; at ω = 1000 the guided velocity (1+ω)v+ − ω v− of two barely
  // trained policies is huge, so (almost surely) every sample ends at a bound; at ω = 0 it is v+ alone.
  write("bandit.toml",
        "[trainer]\nsteps = 20\nbatch_size = 32\nlog_interval = 10\ncheckpoint_interval = 10\n"
        "[dataset]\ntype = \"bandit\"\nsize = 500\n[environment]\ntype = \"bandit\"\n"
        "[eval]\nepisodes = 64\nparallel = 64\n[algorithm]\ntype = \"dipole\"\n"
        "[critic]\ntype = \"iql\"\nhidden_dims = [16]\n[denoiser]\ntype = \"flow_mlp\"\nhidden_dims = [16]\n"
        "[weighting]\ntype = \"dipole_sigmoid\"\n[sampler]\ntype = \"guided_euler\"\nsteps = 4\n");
  const fs::path run = dir_ / "run";
  auto r =
      dipole::test::dipole_cli("train " + (dir_ / "bandit.toml").string() + " --quiet --out " + run.string());
  ASSERT_EQ(r.code, 0) << r.output;
  const fs::path dump = dir_ / "actions.npz";
  r = dipole::test::dipole_cli("eval " + run.string() + " --omega 0,1000 --dump-actions " + dump.string());
  ASSERT_EQ(r.code, 0) << r.output;
  const auto table = dipole::report::read_csv((run / "eval_sweep.csv").string());
  const int clipped = table.column("clipped_fraction"), mean = table.column("action_mean"),
            omega = table.column("omega");
  ASSERT_GE(clipped, 0);
  ASSERT_GE(mean, 0);
  ASSERT_EQ(table.rows.size(), 2U);
  EXPECT_NE(read(run / "eval_sweep.jsonl").find("\"clipped_fraction\": "), std::string::npos);

  const auto arrays = dipole::npz::read_npz(dump.string());
  const at::Tensor actions = dipole::npz::to_tensor(arrays.at("actions")).to(at::kDouble);
  const at::Tensor omegas = dipole::npz::to_tensor(arrays.at("omega"));
  const at::Tensor observations = dipole::npz::to_tensor(arrays.at("observations"));
  ASSERT_EQ(actions.size(0), 128);  // 64 one-step episodes per setting
  EXPECT_EQ(observations.size(0), 128);
  EXPECT_EQ(dipole::npz::to_tensor(arrays.at("setting")).sum().item<std::int64_t>(), 64);
  for (std::size_t i = 0; i < 2; ++i) {
    const double w = std::stod(table.rows[i][static_cast<std::size_t>(omega)]);
    const at::Tensor mine = actions.index_select(0, at::nonzero(omegas == w).squeeze(1));
    ASSERT_EQ(mine.size(0), 64) << w;
    // The statistic recomputed from the dump equals the table's.
    const double fraction = (mine.abs() >= 1.0 - 1e-6).to(at::kDouble).mean().item<double>();
    EXPECT_DOUBLE_EQ(std::stod(table.rows[i][static_cast<std::size_t>(clipped)]), fraction) << w;
    EXPECT_NEAR(std::stod(table.rows[i][static_cast<std::size_t>(mean)]), mine.mean().item<double>(), 1e-9)
        << w;
    if (w == 1000) {
      EXPECT_GE(fraction, 0.99);
    }
  }
}

}  // namespace
