// OGBench locomotion scenes (plugins/benchmarks/locomaze): composed-model facts, maze coordinates and tasks,
// the humanoid observation test vector, free-fall values that pin the timestep, integrator and frame skip,
// wall contacts, 2.2.2 regression values and the one-step replay error floor (docs/ogbench.md, "Locomotion
// environments").
#include <gtest/gtest.h>

#include <dipole/errors.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#ifdef DIPOLE_HAVE_MUJOCO
#include "loco_env.hpp"
#include "maze.hpp"

namespace dipole::locomaze {
namespace {

using C = ogbench::Category;

double body_mass(const mjModel* m, const char* name) {
  return m->body_mass[mj_name2id(m, mjOBJ_BODY, name)];
}

double total_mass(const mjModel* m, int first_body, int last_body) {
  double sum = 0;
  for (int b = first_body; b <= last_body; ++b) sum += m->body_mass[b];
  return sum;
}

// ---- composition ------------------------------------------------------------------------------------

TEST(LocomazeModel, DimensionsGeomCountsAndIntegratorOfEveryScene) {
  struct Row {
    SceneKind kind;
    int nq, nv, nu, ngeom;
    double dt;
    int integrator;
  };
  const Row rows[] = {
      {{Agent::Point, MapName::Medium}, 2, 2, 2, 41, 0.02, mjINT_RK4},
      {{Agent::Point, MapName::Large}, 2, 2, 2, 65, 0.02, mjINT_RK4},
      {{Agent::Point, MapName::Giant}, 2, 2, 2, 109, 0.02, mjINT_RK4},
      {{Agent::Point, MapName::Teleport}, 2, 2, 2, 71, 0.02, mjINT_RK4},
      {{Agent::Ant, MapName::Medium}, 15, 14, 8, 53, 0.02, mjINT_RK4},
      {{Agent::Ant, MapName::Large}, 15, 14, 8, 77, 0.02, mjINT_RK4},
      {{Agent::Ant, MapName::Giant}, 15, 14, 8, 121, 0.02, mjINT_RK4},
      {{Agent::Ant, MapName::Teleport}, 15, 14, 8, 83, 0.02, mjINT_RK4},
      {{Agent::Humanoid, MapName::Medium}, 28, 27, 21, 59, 0.005, mjINT_EULER},
      {{Agent::Humanoid, MapName::Large}, 28, 27, 21, 83, 0.005, mjINT_EULER},
      {{Agent::Humanoid, MapName::Giant}, 28, 27, 21, 127, 0.005, mjINT_EULER},
      {{Agent::Ant, MapName::Arena, true}, 22, 20, 8, 44, 0.02, mjINT_RK4},
      {{Agent::Ant, MapName::Medium, true}, 22, 20, 8, 54, 0.02, mjINT_RK4},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.kind.label());
    const ModelPtr m = load_model(row.kind);
    EXPECT_EQ(m->nq, row.nq);
    EXPECT_EQ(m->nv, row.nv);
    EXPECT_EQ(m->nu, row.nu);
    EXPECT_EQ(m->ngeom, row.ngeom);
    EXPECT_EQ(m->opt.timestep, row.dt);
    EXPECT_EQ(m->opt.integrator, row.integrator);
    // block_0_0 at (−4, −4, 1), half-size (2, 2, 1).
    const int block = mj_name2id(m.get(), mjOBJ_GEOM, "block_0_0");
    ASSERT_GE(block, 0);
    for (int k = 0; k < 3; ++k) {
      EXPECT_EQ(m->geom_pos[3 * block + k], (k < 2 ? -4.0 : 1.0));
      EXPECT_EQ(m->geom_size[3 * block + k], (k < 2 ? 2.0 : 1.0));
    }
    const MazeMap& map = maze_map(row.kind.map);
    int walls = 0;
    for (int g = 0; g < m->ngeom; ++g)
      if (std::string(mj_id2name(m.get(), mjOBJ_GEOM, g) ? mj_id2name(m.get(), mjOBJ_GEOM, g) : "")
              .rfind("block_", 0) == 0)
        ++walls;
    EXPECT_EQ(walls, map.height() * map.width() - static_cast<int>(map.free_cells().size()));
    EXPECT_GE(mj_name2id(m.get(), mjOBJ_GEOM, "target"), 0);
  }
}

TEST(LocomazeModel, MassesBodyOrderActuatorsAndWallDefaults) {
  const ModelPtr ant = load_model({Agent::Ant, MapName::Medium});
  EXPECT_NEAR(body_mass(ant.get(), "torso"), 0.32725, 5e-6);
  EXPECT_NEAR(total_mass(ant.get(), 1, ant->nbody - 1), 0.91088, 5e-6);
  EXPECT_EQ(ant->nbody, 14);
  // Action order: hip_4, ankle_4, hip_1, ankle_1, hip_2, ankle_2, hip_3, ankle_3; gear 30.
  const char* ant_order[] = {"hip_4", "ankle_4", "hip_1", "ankle_1", "hip_2", "ankle_2", "hip_3", "ankle_3"};
  for (int a = 0; a < 8; ++a) {
    EXPECT_STREQ(mj_id2name(ant.get(), mjOBJ_JOINT, ant->actuator_trnid[2 * a]), ant_order[a]);
    EXPECT_EQ(ant->actuator_gear[6 * a], 30.0);
  }
  // The ankles' ranges: ankle_1 [30°, 70°], ankle_2 [−70°, −30°] in radians.
  const int ankle_1 = mj_name2id(ant.get(), mjOBJ_JOINT, "ankle_1");
  EXPECT_NEAR(ant->jnt_range[2 * ankle_1], 0.523599, 1e-6);
  EXPECT_NEAR(ant->jnt_range[2 * ankle_1 + 1], 1.221730, 1e-6);
  EXPECT_EQ(ant->jnt_qposadr[ankle_1], 8);
  // Walls take the ant file's top-level geom defaults.
  const int wall = mj_name2id(ant.get(), mjOBJ_GEOM, "block_0_0");
  EXPECT_NEAR(ant->geom_margin[wall], 0.01, 1e-12);
  EXPECT_NEAR(ant->geom_solimp[mjNIMP * wall], 0.8, 1e-12);
  EXPECT_NEAR(ant->geom_solimp[mjNIMP * wall + 1], 0.8, 1e-12);
  EXPECT_NEAR(ant->geom_solimp[mjNIMP * wall + 2], 0.01, 1e-12);
  EXPECT_NEAR(ant->geom_friction[3 * wall + 1], 0.5, 1e-12);

  const ModelPtr soccer = load_model({Agent::Ant, MapName::Arena, true});
  EXPECT_EQ(soccer->nbody, 15);
  EXPECT_NEAR(body_mass(soccer.get(), "ball"), 0.327249, 5e-7);
  const int ball = mj_name2id(soccer.get(), mjOBJ_GEOM, "ball");
  EXPECT_EQ(soccer->geom_condim[ball], 6);
  EXPECT_EQ(soccer->geom_priority[ball], 1);
  EXPECT_NEAR(soccer->geom_friction[3 * ball + 2], 0.5, 1e-12);  // rolling friction
  EXPECT_EQ(soccer->jnt_qposadr[mj_name2id(soccer.get(), mjOBJ_JOINT, "ball_root")], 15);

  const ModelPtr humanoid = load_model({Agent::Humanoid, MapName::Large});
  EXPECT_NEAR(total_mass(humanoid.get(), 1, humanoid->nbody - 1), 40.8440, 5e-5);
  const char* bodies[] = {
      "world",           "torso",      "head",           "lower_waist",    "pelvis",    "right_thigh",
      "right_shin",      "right_foot", "left_thigh",     "left_shin",      "left_foot", "right_upper_arm",
      "right_lower_arm", "right_hand", "left_upper_arm", "left_lower_arm", "left_hand"};
  for (int b = 0; b < 17; ++b) EXPECT_STREQ(mj_id2name(humanoid.get(), mjOBJ_BODY, b), bodies[b]);
  const char* actuators[] = {"abdomen_y",       "abdomen_z",    "abdomen_x",      "right_hip_x",
                             "right_hip_z",     "right_hip_y",  "right_knee",     "right_ankle_x",
                             "right_ankle_y",   "left_hip_x",   "left_hip_z",     "left_hip_y",
                             "left_knee",       "left_ankle_x", "left_ankle_y",   "right_shoulder1",
                             "right_shoulder2", "right_elbow",  "left_shoulder1", "left_shoulder2",
                             "left_elbow"};
  const double gears[] = {40,  40, 40, 40, 40, 120, 80, 20, 20, 40, 40,
                          120, 80, 20, 20, 20, 20,  40, 20, 20, 40};
  for (int a = 0; a < 21; ++a) {
    EXPECT_STREQ(mj_id2name(humanoid.get(), mjOBJ_JOINT, humanoid->actuator_trnid[2 * a]), actuators[a]);
    EXPECT_EQ(humanoid->actuator_gear[6 * a], gears[a]);
  }
  const int hwall = mj_name2id(humanoid.get(), mjOBJ_GEOM, "block_0_0");
  EXPECT_EQ(humanoid->geom_margin[hwall], 0.0);
  EXPECT_NEAR(humanoid->geom_solimp[mjNIMP * hwall], 0.9, 1e-12);
  EXPECT_NEAR(humanoid->geom_solimp[mjNIMP * hwall + 1], 0.95, 1e-12);
  EXPECT_NEAR(humanoid->geom_solimp[mjNIMP * hwall + 2], 0.001, 1e-12);

  const ModelPtr point = load_model({Agent::Point, MapName::Giant});
  EXPECT_NEAR(body_mass(point.get(), "torso"), 143.6755, 5e-4);
  EXPECT_EQ(point->geom_margin[mj_name2id(point.get(), mjOBJ_GEOM, "block_0_0")], 0.0);
}

// ---- maps, coordinates, tasks ----------------------------------------------------------------------

TEST(LocomazeMaps, CellCoordinatesCountsAndTasks) {
  EXPECT_EQ(cell_to_xy(1, 1), (std::array<double, 2>{0.0, 0.0}));
  EXPECT_EQ(cell_to_xy(6, 6), (std::array<double, 2>{20.0, 20.0}));
  EXPECT_EQ(cell_to_xy(4, 2), (std::array<double, 2>{4.0, 12.0}));
  EXPECT_EQ(xy_to_cell(4, 12), (std::pair<int, int>{4, 2}));
  EXPECT_EQ(xy_to_cell(5.9, 13.9), (std::pair<int, int>{4, 2}));
  EXPECT_EQ(xy_to_cell(6.1, 14.1), (std::pair<int, int>{5, 3}));
  EXPECT_EQ(xy_to_cell(-1.9, -1.9), (std::pair<int, int>{1, 1}));
  struct Counts {
    MapName map;
    int free, vertex;
  };
  for (const Counts c :
       {Counts{MapName::Arena, 36, 36}, Counts{MapName::Medium, 26, 21}, Counts{MapName::Large, 46, 22},
        Counts{MapName::Giant, 86, 46}, Counts{MapName::Teleport, 45, 24}}) {
    SCOPED_TRACE(map_label(c.map));
    EXPECT_EQ(static_cast<int>(maze_map(c.map).free_cells().size()), c.free);
    EXPECT_EQ(static_cast<int>(maze_map(c.map).vertex_cells().size()), c.vertex);
  }
  // BFS over the medium maze: (1, 1) to (6, 6).
  EXPECT_GT(maze_map(MapName::Medium).bfs(6, 6)[1][1], 0);
  EXPECT_EQ(maze_map(MapName::Medium).bfs(6, 6)[0][0], -1);
  // The oracle walks (1, 1) → (6, 6) of the medium maze in BFS-distance steps, preferring up, left,
  // down, right: (1, 1) → (2, 1) (down; up and left are walls).
  const MazeMap& medium = maze_map(MapName::Medium);
  const auto dist = medium.bfs(6, 6);
  EXPECT_EQ(medium.oracle_next_cell(dist, {1, 1}), (std::pair<int, int>{2, 1}));
  std::pair<int, int> cell{1, 1};
  int moves = 0;
  while (cell != std::pair<int, int>{6, 6} && moves < 100) {
    const auto next = medium.oracle_next_cell(dist, cell);
    EXPECT_EQ(dist[static_cast<std::size_t>(next.first)][static_cast<std::size_t>(next.second)],
              dist[static_cast<std::size_t>(cell.first)][static_cast<std::size_t>(cell.second)] - 1);
    cell = next;
    ++moves;
  }
  EXPECT_EQ(moves, dist[1][1]);
  EXPECT_EQ(medium.oracle_next_cell(dist, {6, 6}), (std::pair<int, int>{6, 6}));

  const LocoEnv hm3("humanoidmaze-medium-singletask-task3-v0", RewardTiming::Pre, ResetQuaternion::Raw);
  EXPECT_EQ(hm3.task().agent_init_xy, (ogbench::Vec2{8, 16}));
  EXPECT_EQ(hm3.task().goal_xy, (ogbench::Vec2{4, 12}));
  EXPECT_EQ(hm3.max_episode_steps(), 2000);
  const LocoEnv large("humanoidmaze-large-singletask-task1-v0", RewardTiming::Pre, ResetQuaternion::Raw);
  EXPECT_EQ(large.task().goal_xy, (ogbench::Vec2{36, 24}));
  const LocoEnv giant("antmaze-giant-singletask-task1-v0", RewardTiming::Pre, ResetQuaternion::Raw);
  EXPECT_EQ(giant.task().goal_xy, (ogbench::Vec2{52, 36}));
  const LocoEnv soccer("antsoccer-arena-singletask-v0", RewardTiming::Pre, ResetQuaternion::Raw);
  EXPECT_EQ(soccer.task().task, 4);
  EXPECT_EQ(soccer.task().agent_init_xy, (ogbench::Vec2{20, 20}));
  EXPECT_EQ(soccer.task().ball_init_xy, (ogbench::Vec2{0, 0}));
  EXPECT_EQ(soccer.task().goal_xy, (ogbench::Vec2{0, 20}));
  EXPECT_EQ(soccer.max_episode_steps(), 1000);
  const LocoEnv hg("humanoidmaze-giant-singletask-task2-v0", RewardTiming::Pre, ResetQuaternion::Raw);
  EXPECT_EQ(hg.max_episode_steps(), 4000);
  EXPECT_EQ(LocoEnv("pointmaze-medium-singletask-v0", RewardTiming::Pre, ResetQuaternion::Raw).task().task,
            1);

  EXPECT_THROW(LocoEnv("cube-single-singletask-task1-v0", RewardTiming::Pre, ResetQuaternion::Raw),
               ConfigError);
  EXPECT_THROW(LocoEnv("antmaze-large-navigate-singletask-task1-v0", RewardTiming::Pre, ResetQuaternion::Raw),
               ConfigError);
  EXPECT_THROW(LocoEnv("antmaze-large-singletask-task6-v0", RewardTiming::Pre, ResetQuaternion::Raw),
               ConfigError);
  EXPECT_THROW(parse_reward_timing("later"), ConfigError);
  EXPECT_THROW(parse_reset_quaternion("unit"), ConfigError);
}

// ---- the humanoid observation ----------------------------------------------------------------------

TEST(LocomazeHumanoid, ObservationTestVectorAndUprightPose) {
  Scene scene({Agent::Humanoid, MapName::Medium});
  const mjModel* m = scene.model();
  std::vector<double> qpos(28), qvel(27);
  qpos[0] = 1;
  qpos[1] = 2;
  qpos[2] = 1.2;
  const double q[4] = {0.9, 0.1, 0.2, 0.3};
  const double n = std::sqrt(0.81 + 0.01 + 0.04 + 0.09);
  for (int k = 0; k < 4; ++k) qpos[static_cast<std::size_t>(3 + k)] = q[k] / n;
  for (int j = 1; j <= 21; ++j) {
    const double lo = m->jnt_range[2 * j], hi = m->jnt_range[2 * j + 1];
    qpos[static_cast<std::size_t>(6 + j)] = lo + (hi - lo) * j / 22.0;
  }
  for (int i = 0; i < 27; ++i) qvel[static_cast<std::size_t>(i)] = 0.05 * (i + 1) * (i % 2 ? -1.0 : 1.0);
  const auto obs = scene.observation_of(qpos.data(), qvel.data());
  ASSERT_EQ(obs.size(), 69U);
  const std::vector<std::pair<int, double>> expected = {
      {0, 1.0},          {1, 2.0},           {2, -0.713998330},  {3, -1.142397329},  {4, -0.444265628},
      {5, -0.341132536}, {23, 1.370000000},  {24, 0.044730820},  {25, 0.292843180},  {26, 0.122702682},
      {27, 0.597392701}, {28, -0.665049421}, {29, -0.487211027}, {30, 0.189048348},  {31, -0.065759785},
      {32, 0.172749368}, {33, -0.001401630}, {34, -0.716272592}, {35, -0.272634266}, {36, -0.315789474},
      {37, 0.315789474}, {38, 0.894736842},  {39, 0.221209858},  {40, -0.027063323}, {41, 0.346114679}};
  for (const auto& [i, v] : expected)
    EXPECT_NEAR(obs[static_cast<std::size_t>(i)], v, 2e-9) << "obs[" << i << "]";
  for (int i = 0; i < 21; ++i)
    EXPECT_EQ(obs[static_cast<std::size_t>(2 + i)], qpos[static_cast<std::size_t>(7 + i)]);
  for (int i = 0; i < 27; ++i)
    EXPECT_EQ(obs[static_cast<std::size_t>(42 + i)], qvel[static_cast<std::size_t>(i)]);
  EXPECT_NEAR(obs[68], 1.35, 1e-12);

  // Upright qpos0, zero velocity.
  std::vector<double> q0(m->qpos0, m->qpos0 + m->nq), v0(27, 0.0);
  const auto up = scene.observation_of(q0.data(), v0.data());
  EXPECT_NEAR(up[23], 1.69, 1e-9);
  const double limbs[12] = {0.36, 0.17,  0.06, -0.002676, 0.09,  -1.257972,
                            0.36, -0.17, 0.06, -0.002676, -0.09, -1.257972};
  for (int k = 0; k < 12; ++k) EXPECT_NEAR(up[static_cast<std::size_t>(24 + k)], limbs[k], 1e-6) << k;
  EXPECT_NEAR(up[36], 0.0, 1e-12);
  EXPECT_NEAR(up[37], 0.0, 1e-12);
  EXPECT_NEAR(up[38], 1.0, 1e-12);
}

// ---- stepping ---------------------------------------------------------------------------------------

/// The scene at its qpos0 with zero velocity (mj_resetData + mj_forward).
void rest(Scene& scene) {
  mj_resetData(scene.model(), scene.data());
  mj_forward(scene.model(), scene.data());
}

TEST(LocomazeStep, FreeFallPinsTimestepIntegratorAndFrameSkip) {
  Scene humanoid({Agent::Humanoid, MapName::Medium});
  rest(humanoid);
  const std::vector<double> zero(21, 0.0);
  humanoid.step(zero.data());
  // Semi-implicit Euler over 5 substeps of 0.005 s: 1.5 − 9.81·0.005²·(1 + 2 + 3 + 4 + 5).
  EXPECT_NEAR(humanoid.data()->qpos[2], 1.49632125, 1e-9);
  EXPECT_NEAR(humanoid.data()->time, 0.025, 1e-12);

  Scene soccer({Agent::Ant, MapName::Arena, true});
  rest(soccer);
  soccer.data()->qpos[15] = 12.0;  // the ball far from the ant, 0.5 m up
  soccer.data()->qpos[16] = 12.0;
  mj_forward(soccer.model(), soccer.data());
  const std::vector<double> zero8(8, 0.0);
  soccer.step(zero8.data());
  EXPECT_NEAR(soccer.data()->qpos[17], 0.5 - 0.5 * 9.81 * 0.1 * 0.1, 1e-9);  // RK4 is exact here: 0.45095
  EXPECT_NEAR(soccer.data()->time, 0.1, 1e-12);
}

TEST(LocomazeStep, PointMovesPointTwoPerUnitActionAndStopsAtWalls) {
  Scene point({Agent::Point, MapName::Medium});
  rest(point);
  const double right[2] = {1.0, 0.0}, left[2] = {-1.0, 0.0}, corner[2] = {-1.0, -1.0}, far[2] = {3.0, 0.0};
  point.step(right);
  EXPECT_EQ(point.data()->qpos[0], 0.2);
  EXPECT_EQ(point.data()->qpos[1], 0.0);
  EXPECT_EQ(point.data()->qvel[0], 0.0);
  point.step(far);  // not clipped: 0.6 m
  EXPECT_NEAR(point.data()->qpos[0], 0.8, 1e-15);
  rest(point);
  for (int t = 0; t < 20; ++t) point.step(left);
  // The wall face at x = −2, radius 0.7, soft contact: settles at −1.343077.
  EXPECT_NEAR(point.data()->qpos[0], -1.343077, 1e-6);
  EXPECT_GT(point.data()->ncon, 0);
  rest(point);
  for (int t = 0; t < 12; ++t) point.step(corner);
  EXPECT_NEAR(point.data()->qpos[0], -1.345512, 1e-6);
  EXPECT_NEAR(point.data()->qpos[1], -1.345512, 1e-6);
}

TEST(LocomazeStep, AgentsTouchTheWallBlocks) {
  // The ant pushed against block (0, 1) stays out of it; the humanoid placed inside a wall gets contacts.
  Scene humanoid({Agent::Humanoid, MapName::Medium});
  rest(humanoid);
  humanoid.data()->qpos[0] = -1.9;  // the torso 0.1 m from the wall face x = −2... its arms reach in
  humanoid.data()->qpos[2] = 1.0;
  mj_forward(humanoid.model(), humanoid.data());
  bool wall_contact = false;
  for (int c = 0; c < humanoid.data()->ncon; ++c) {
    const mjContact& con = humanoid.data()->contact[c];
    for (const int g : {con.geom1, con.geom2}) {
      const char* name = mj_id2name(humanoid.model(), mjOBJ_GEOM, g);
      if (name && std::string(name).rfind("block_", 0) == 0) wall_contact = true;
    }
  }
  EXPECT_TRUE(wall_contact);
}

TEST(LocomazeStep, RegressionValuesOnMuJoCo222) {
  Scene ant({Agent::Ant, MapName::Medium});
  rest(ant);
  const std::vector<double> half(8, 0.5);
  for (int t = 0; t < 10; ++t) ant.step(half.data());
  const double* q = ant.data()->qpos;
  EXPECT_NEAR(q[0], -0.037605342, 1e-6);
  EXPECT_NEAR(q[1], -0.002151354, 1e-6);
  EXPECT_NEAR(q[2], 0.507190993, 1e-6);
  EXPECT_NEAR(q[13], 0.524795621, 1e-6);
  EXPECT_NEAR(q[14], 1.222829085, 1e-6);

  Scene humanoid({Agent::Humanoid, MapName::Medium});
  rest(humanoid);
  const std::vector<double> zero(21, 0.0);
  for (int t = 0; t < 10; ++t) humanoid.step(zero.data());
  EXPECT_NEAR(humanoid.data()->qpos[2], 1.278680704, 1e-6);
  for (int t = 10; t < 40; ++t) humanoid.step(zero.data());
  EXPECT_NEAR(humanoid.data()->qpos[2], 0.879294907, 1e-5);
}

/// One-step replay from float32-rounded states: median, 95th percentile and max of the qpos error.
std::array<double, 3> replay_errors(const std::string& env_id, int steps) {
  LocoEnv env(env_id, RewardTiming::Pre, ResetQuaternion::Normalized);
  Scene replay(env.scene().kind());
  const int nq = env.scene().nq(), nu = env.scene().action_dim();
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<double> errors;
  env.reset(11);
  std::vector<double> action(static_cast<std::size_t>(nu));
  for (int t = 0; t < steps; ++t) {
    const auto before = env.state();
    for (double& a : action) a = static_cast<float>(u(rng));
    env.step(action.data());
    const auto after = env.state();
    std::vector<double> q(before.begin(), before.begin() + nq), v(before.begin() + nq, before.end());
    for (double& x : q) x = static_cast<float>(x);
    for (double& x : v) x = static_cast<float>(x);
    replay.set_state(q.data(), v.data());
    replay.step(action.data());
    double err = 0;
    for (int i = 0; i < nq; ++i)
      err = std::max(err, std::abs(replay.data()->qpos[i] - static_cast<double>(static_cast<float>(
                                                                after[static_cast<std::size_t>(i)]))));
    errors.push_back(err);
  }
  std::sort(errors.begin(), errors.end());
  return {errors[errors.size() / 2], errors[errors.size() * 95 / 100], errors.back()};
}

TEST(LocomazeStep, OneStepReplayFromFloat32StatesIsAtTheRoundingFloor) {
  // Spec floor on 2.2.2: median 5e-8, p95 1.2e-7, max 2e-6 (ant and humanoid); a wrong model (walls'
  // defaults, dt, frame skip, integrator, actuator order) gives errors orders of magnitude larger.
  for (const char* id : {"antmaze-medium-singletask-v0", "humanoidmaze-medium-singletask-v0"}) {
    SCOPED_TRACE(id);
    const auto e = replay_errors(id, 300);
    std::printf("%s one-step replay qpos error: median %.2g, p95 %.2g, max %.2g\n", id, e[0], e[1], e[2]);
    EXPECT_LT(e[0], 5e-7);
    EXPECT_LT(e[1], 5e-6);
    EXPECT_LT(e[2], 1e-3);
  }
}

}  // namespace
}  // namespace dipole::locomaze
#else
TEST(LocomazeModel, Skipped) {
  GTEST_SKIP() << "built without MuJoCo: plugin dipole_locomaze not available";
}
#endif
