// OGBench manipulation (plugins/benchmarks/manipspace): the flat MJCF assembled at run time and its compiled
// figures against docs/ogbench.md ("Manipulation environments", "Manipulation: scene
// model and physics") and plugins/benchmarks/manipspace/README.md ("Figures reproduced"); the XML DOM.
#include <gtest/gtest.h>

#include <dipole/errors.hpp>

#include <string>

#ifdef DIPOLE_HAVE_MUJOCO
#include "manip_env.hpp"
#include "model_builder.hpp"
#include "xml_dom.hpp"

namespace dipole::manipspace {
namespace {

// ---- XML DOM ----------------------------------------------------------------------------------------

TEST(ManipspaceXml, ParsesAttributesCommentsAndEntitiesAndRoundTrips) {
  const std::string text =
      "<?xml version=\"1.0\"?>\n<!-- top -->\n<mujoco model='a &amp; b'>\n  <!-- inner -->\n"
      "  <body name=\"x\" pos=\"0 0 1\"><geom size=\".1\"/></body>\n  <text>1 &lt; 2</text>\n</mujoco>";
  const auto root = xml::parse(text, "inline.xml");
  ASSERT_EQ(root->name, "mujoco");
  EXPECT_EQ(*root->attribute("model"), "a & b");
  ASSERT_EQ(root->children.size(), 3U);
  EXPECT_EQ(root->children[0]->type, xml::Node::Type::Comment);
  EXPECT_EQ(root->children[0]->name, " inner ");
  const xml::Node* body = root->child("body");
  ASSERT_NE(body, nullptr);
  EXPECT_EQ(*body->attribute("pos"), "0 0 1");
  EXPECT_EQ(*body->child("geom")->attribute("size"), ".1");
  EXPECT_EQ(root->child("text")->children[0]->name, "1 < 2");
  // serialise → parse gives the same tree
  const auto again = xml::parse(xml::serialize(*root), "again.xml");
  EXPECT_EQ(xml::serialize(*again), xml::serialize(*root));
  EXPECT_EQ(*again->attribute("model"), "a & b");
}

TEST(ManipspaceXml, MalformedInputNamesFileAndLine) {
  try {
    xml::parse("<mujoco>\n<body name=\"a\">\n</geom>\n</mujoco>", "bad.xml");
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.xml:3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("</body>"), std::string::npos) << e.what();
  }
  EXPECT_THROW(xml::parse("<a x=1/>", "q.xml"), DataError);              // unquoted value
  EXPECT_THROW(xml::parse("<a></a><b/>", "two.xml"), DataError);         // two roots
  EXPECT_THROW(xml::parse("<a x=\"1\" x=\"2\"/>", "d.xml"), DataError);  // repeated attribute
}

// ---- flat model -------------------------------------------------------------------------------------

struct Sizes {
  SceneLayout layout;
  int nq, nv, nu, nmocap, obs;
};

TEST(ManipspaceModel, CompiledSizesOfSection0) {
  for (const Sizes& s :
       {Sizes{SceneLayout::cubes(1), 21, 20, 7, 1, 28}, Sizes{SceneLayout::cubes(2), 28, 26, 7, 2, 37},
        Sizes{SceneLayout::scene(), 25, 24, 7, 1, 40}, Sizes{SceneLayout::puzzle(3, 3), 23, 23, 7, 0, 55}}) {
    const ManipEnv env(s.layout);
    const mjModel* m = env.model();
    SCOPED_TRACE(s.layout.label());
    EXPECT_EQ(m->nq, s.nq);
    EXPECT_EQ(m->nv, s.nv);
    EXPECT_EQ(m->nu, s.nu);
    EXPECT_EQ(m->nmocap, s.nmocap);
    EXPECT_EQ(env.obs_dim(), s.obs);
    EXPECT_EQ(m->nkey, 0);
    EXPECT_EQ(m->opt.timestep, 0.002);
    EXPECT_EQ(m->opt.cone, mjCONE_ELLIPTIC);
    EXPECT_EQ(m->opt.impratio, 10.0);
#if mjVERSION_HEADER < 233
    EXPECT_EQ(m->opt.integrator, mjINT_IMPLICIT);
#endif
  }
}

TEST(ManipspaceModel, CubeSingleQpos0MassesAndSitesAtQpos0) {
  const auto model = load_scene_model(SceneLayout::cubes(1));
  const mjModel* m = model.get();
  const double qpos0[21] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.3, 0, 0.02, 1, 0, 0, 0};
  for (int i = 0; i < 21; ++i) EXPECT_EQ(m->qpos0[i], qpos0[i]) << "qpos0[" << i << "]";
  const auto body_mass = [m](const char* name) { return m->body_mass[mj_name2id(m, mjOBJ_BODY, name)]; };
  EXPECT_NEAR(body_mass("object_0"), 0.07936, 1e-9);  // 0.04³ · 1240
  EXPECT_NEAR(body_mass("ur5e/robotiq/base_mount"), 0.0958352, 1e-7);
  EXPECT_NEAR(body_mass("ur5e/robotiq/right_silicone_pad"), 0.00129267, 1e-8);
  // qpos layout (docs/ogbench.md, "Manipulation: scene model and physics"): the cube's free joint at 14, the
  // driver at 6
  EXPECT_EQ(m->jnt_qposadr[mj_name2id(m, mjOBJ_JOINT, "object_joint_0")], 14);
  EXPECT_EQ(m->jnt_dofadr[mj_name2id(m, mjOBJ_JOINT, "object_joint_0")], 14);
  EXPECT_EQ(m->jnt_qposadr[mj_name2id(m, mjOBJ_JOINT, "ur5e/robotiq/right_driver_joint")], 6);
  EXPECT_EQ(m->jnt_qposadr[mj_name2id(m, mjOBJ_JOINT, "ur5e/robotiq/left_driver_joint")], 10);
  // the mesh with the missing file is dropped (docs/ogbench.md, "Manipulation: scene model and physics"), the
  // others are there
  EXPECT_EQ(mj_name2id(m, mjOBJ_MESH, "ur5e/upperarm_3"), -1);
  EXPECT_GE(mj_name2id(m, mjOBJ_MESH, "ur5e/upperarm_2"), 0);
  EXPECT_GE(mj_name2id(m, mjOBJ_MESH, "ur5e/robotiq/base_mount"), 0);

  DataPtr data(mj_makeData(m));
  mj_forward(m, data.get());
  const auto site = [&](const char* name) { return data->site_xpos + 3 * mj_name2id(m, mjOBJ_SITE, name); };
  const double* pinch = site("ur5e/robotiq/pinch");
  const double* attach = site("ur5e/attachment_site");
  EXPECT_NEAR(pinch[0], -0.3898, 5e-5);
  EXPECT_NEAR(pinch[1], 0.817, 5e-5);
  EXPECT_NEAR(pinch[2], 0.063, 5e-5);
  EXPECT_NEAR(attach[0], -0.234, 5e-5);
  EXPECT_NEAR(attach[1], 0.817, 5e-5);
  EXPECT_NEAR(attach[2], 0.063, 5e-5);
}

TEST(ManipspaceModel, RunTimeEditsOfSection1_3) {
  const ManipEnv env(SceneLayout::cubes(1));
  const mjModel* m = env.model();
  const double kp[6] = {4500, 4500, 4500, 2000, 2000, 500};
  const double kd[6] = {400, 400, 400, 100, 100, 100};  // XML biasprm[2], left as it is
  const double force[6] = {150, 150, 150, 28, 28, 28};
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(m->actuator_gaintype[i], mjGAIN_FIXED);
    EXPECT_EQ(m->actuator_gainprm[mjNGAIN * i], kp[i]);
    EXPECT_EQ(m->actuator_biasprm[mjNBIAS * i + 1], -kp[i]);
    EXPECT_EQ(m->actuator_biasprm[mjNBIAS * i + 2], -kd[i]);
    EXPECT_EQ(m->actuator_forcerange[2 * i + 1], force[i]);
    EXPECT_EQ(m->actuator_ctrlrange[2 * i + 1], i == 2 ? 3.1415 : 6.2831);
  }
  // gripper: tendon actuator, u in [0, 255], gain 0.3137255, bias (0, −100, −10), force ±5
  EXPECT_EQ(m->actuator_trntype[6], mjTRN_TENDON);
  EXPECT_EQ(m->actuator_ctrlrange[13], 255.0);
  EXPECT_NEAR(m->actuator_gainprm[mjNGAIN * 6], 0.3137255, 1e-12);
  EXPECT_EQ(m->actuator_biasprm[mjNBIAS * 6 + 1], -100.0);
  EXPECT_EQ(m->actuator_biasprm[mjNBIAS * 6 + 2], -10.0);
  EXPECT_EQ(m->actuator_forcerange[13], 5.0);
}

TEST(ManipspaceModel, SceneAndPuzzleSitesAndMasses) {
  ManipEnv scene(SceneLayout::scene());
  scene.reset_to_home();
  for (int i = 0; i < 6; ++i) scene.data()->qpos[i] = 0.0;
  scene.forward();
  const auto near3 = [](const Vec3& p, double x, double y, double z, const char* what) {
    EXPECT_NEAR(p[0], x, 2e-6) << what;
    EXPECT_NEAR(p[1], y, 2e-6) << what;
    EXPECT_NEAR(p[2], z, 2e-6) << what;
  };
  near3(scene.site_pos(scene.site_id("btntop_0")), 0.58, -0.050062, 0.1254, "btntop_0");
  near3(scene.site_pos(scene.site_id("btntop_1")), 0.58, 0.049942, 0.1212, "btntop_1");
  near3(scene.site_pos(scene.site_id("drawer_handle_center")), 0.330287, -0.24, 0.08, "drawer handle");
  near3(scene.site_pos(scene.site_id("window_handle_center")), 0.286, 0.225, 0.237, "window handle");
  const mjModel* m = scene.model();
  EXPECT_NEAR(m->body_mass[mj_name2id(m, mjOBJ_BODY, "drawer_link")], 4.124, 5e-4);
  EXPECT_NEAR(m->body_mass[mj_name2id(m, mjOBJ_BODY, "windowb_a")], 2.022, 5e-4);
  // scene qpos layout: buttons at 21, 22, drawer 23, window 24
  EXPECT_EQ(m->jnt_qposadr[mj_name2id(m, mjOBJ_JOINT, "buttonbox_joint_0")], 21);
  EXPECT_EQ(m->jnt_qposadr[mj_name2id(m, mjOBJ_JOINT, "buttonbox_joint_1")], 22);
  EXPECT_EQ(m->jnt_qposadr[mj_name2id(m, mjOBJ_JOINT, "drawer_slide")], 23);
  EXPECT_EQ(m->jnt_qposadr[mj_name2id(m, mjOBJ_JOINT, "window_slide")], 24);

  ManipEnv puzzle(SceneLayout::puzzle(3, 3));
  puzzle.forward();
  const double xs[3] = {0.325, 0.425, 0.525}, ys[3] = {-0.1, 0.0, 0.1};
  for (int k = 0; k < 9; ++k) {
    const std::string name = "btntop_" + std::to_string(k);
    near3(puzzle.site_pos(puzzle.site_id(name)), xs[k / 3], ys[k % 3] - 0.000062, 0.1254, name.c_str());
    EXPECT_EQ(puzzle.model()->jnt_qposadr[mj_name2id(puzzle.model(), mjOBJ_JOINT,
                                                     ("buttonbox_joint_" + std::to_string(k)).c_str())],
              14 + k);
  }
}

TEST(ManipspaceModel, FlatTextIsSelfContainedAndLoadsAgain) {
  const std::string text = build_flat_mjcf(SceneLayout::cubes(2), descriptions_directory());
  EXPECT_EQ(text.find("implicitfast"),
            mjVERSION_HEADER < 233 ? std::string::npos : text.find("implicitfast"));
  EXPECT_EQ(text.find("meshdir"), std::string::npos);  // every file path is absolute
  EXPECT_NE(text.find("name=\"object_1\""), std::string::npos);
  EXPECT_NE(text.find("name=\"ur5e/robotiq/\""), std::string::npos);
  const auto model = compile_mjcf(text, "again");
  EXPECT_EQ(model->nq, 28);
  // cube copies at y = −0.05·(N−1) + 0.1·i
  EXPECT_NEAR(model->qpos0[15], -0.05, 1e-12);
  EXPECT_NEAR(model->qpos0[22], 0.05, 1e-12);
  EXPECT_THROW(build_flat_mjcf(SceneLayout::cubes(1), "/nonexistent/descriptions"), DataError);
}

}  // namespace
}  // namespace dipole::manipspace
#else
TEST(ManipspaceModel, Skipped) {
  GTEST_SKIP() << "built without MuJoCo: plugin dipole_manipspace not available";
}
#endif
