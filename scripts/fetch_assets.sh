#!/usr/bin/env bash
# Fetch the MuJoCo model files Dipole uses from their upstream projects, at the pinned commits
# (the same files as the shared assets, see docs/assets.md), into a directory usable as
# DIPOLE_ASSETS. Needs git >= 2.19 (partial clone) and internet access.
#
#   scripts/fetch_assets.sh [destination]      # default: ./assets
#   export DIPOLE_ASSETS=$PWD/assets
#
# Only the needed files are downloaded: each repository is cloned without file contents
# (--filter=blob:none --no-checkout) and only the listed paths are checked out at the pinned commit.
set -euo pipefail

# The pins; the variables can be overridden from the environment (mirrors, or testing the script).
DM_CONTROL_URL=${DM_CONTROL_URL:-https://github.com/google-deepmind/dm_control.git}
DM_CONTROL_COMMIT=${DM_CONTROL_COMMIT:-985d09401ea8824cec489e56cd631b24d9e32891}
OGBENCH_URL=${OGBENCH_URL:-https://github.com/seohongpark/ogbench.git}
OGBENCH_COMMIT=${OGBENCH_COMMIT:-1d4140997f60c52c6fb0702ec100dc988b18c548}

dest=${1:-assets}
if [ -e "$dest/dm_control" ] || [ -e "$dest/ogbench" ]; then
  echo "error: $dest already holds dm_control/ or ogbench/; remove them or choose another destination" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# fetch <url> <commit> <checkout dir> <path>...: the paths of the repository at <commit>.
fetch() {
  local url=$1 commit=$2 dir=$3
  shift 3
  echo "fetching $url at $commit"
  git clone --quiet --filter=blob:none --no-checkout "$url" "$dir"
  git -C "$dir" -c gc.auto=0 checkout --quiet "$commit" -- "$@"
  if [ "$(git -C "$dir" rev-parse "$commit^{commit}")" != "$commit" ]; then
    echo "error: $url: $commit does not name a full commit hash" >&2
    exit 1
  fi
}

fetch "$DM_CONTROL_URL" "$DM_CONTROL_COMMIT" "$work/dm_control" \
  LICENSE \
  dm_control/suite/walker.xml dm_control/suite/cheetah.xml dm_control/suite/quadruped.xml \
  dm_control/suite/common/materials.xml dm_control/suite/common/skybox.xml dm_control/suite/common/visual.xml \
  dm_control/third_party/kinova
fetch "$OGBENCH_URL" "$OGBENCH_COMMIT" "$work/ogbench" \
  LICENSE \
  ogbench/locomaze/assets ogbench/manipspace/descriptions ogbench/online_locomotion/assets

mkdir -p "$dest/dm_control/suite/common" "$dest/dm_control/third_party" \
  "$dest/ogbench/locomaze" "$dest/ogbench/manipspace" "$dest/ogbench/online_locomotion"
src="$work/dm_control"
cp "$src/LICENSE" "$dest/dm_control/LICENSE"
cp "$src/dm_control/suite/walker.xml" "$src/dm_control/suite/cheetah.xml" "$src/dm_control/suite/quadruped.xml" \
  "$dest/dm_control/suite/"
cp "$src"/dm_control/suite/common/*.xml "$dest/dm_control/suite/common/"
cp -R "$src/dm_control/third_party/kinova" "$dest/dm_control/third_party/"
src="$work/ogbench"
cp "$src/LICENSE" "$dest/ogbench/LICENSE"
cp -R "$src/ogbench/locomaze/assets" "$dest/ogbench/locomaze/"
cp -R "$src/ogbench/manipspace/descriptions" "$dest/ogbench/manipspace/"
cp -R "$src/ogbench/online_locomotion/assets" "$dest/ogbench/online_locomotion/"
printf 'dm_control %s\nogbench %s\n' "$DM_CONTROL_COMMIT" "$OGBENCH_COMMIT" > "$dest/SOURCES.txt"

count=$(find "$dest/dm_control" "$dest/ogbench" -type f | wc -l)
echo "wrote $count files into $dest; use them with:"
echo "  export DIPOLE_ASSETS=$(cd "$dest" && pwd)"
