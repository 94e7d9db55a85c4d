// Results tables: aggregation over seeds (hand-computed mean and population std), the Markdown and
// CSV layouts, CSV reading errors, and `dipole report` end to end on hand-written run directories.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "dipole/core/report.hpp"
#include "dipole/errors.hpp"
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

}  // namespace
