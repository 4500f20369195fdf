#!/usr/bin/env bash
# mkrepos.sh DIR [small|medium|large|all]...
#
# Builds the reference repositories of PERF.md under DIR/repos/NAME
# (default DIR: /tmp/gitseal-bench; default size: all):
#   genrepo | git fast-import, git repack -a -d -f --depth=50 --window=10,
#   git read-tree -u --reset HEAD (a real index and working tree).
# A repository that already exists is kept: delete DIR/repos/NAME to rebuild.
# Each build writes its timings to DIR/repos/NAME.build.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
dir=${1:-/tmp/gitseal-bench}
shift || true
[ $# -gt 0 ] || set -- all
sizes=()
for s in "$@"; do
	case $s in
	all) sizes+=(small medium large) ;;
	small | medium | large) sizes+=("$s") ;;
	*)
		echo "mkrepos: unknown size $s (want small, medium, large or all)" >&2
		exit 2
		;;
	esac
done

mkdir -p "$dir/bin" "$dir/repos"
dir=$(cd "$dir" && pwd)
(cd "$root" && go build -o "$dir/bin/genrepo" ./bench/genrepo)

# Keep the user's git configuration out of the repositories.
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

build() {
	local name=$1 repo=$dir/repos/$1
	if [ -d "$repo" ]; then
		echo "mkrepos: $name: exists, kept ($repo)" >&2
		return
	fi
	rm -rf "$repo.tmp"
	mkdir -p "$repo.tmp"
	cd "$repo.tmp"
	git init -q -b main
	git config gc.auto 0
	git config maintenance.auto false
	local t0 t1 t2 t3 t4
	t0=$(now)
	"$dir/bin/genrepo" -size "$name" | git fast-import --quiet
	t1=$(now)
	git repack -q -a -d -f --depth=50 --window=10
	t2=$(now)
	git read-tree -u --reset HEAD
	t3=$(now)
	# Entries written in the same instant as the index are "racily clean"
	# and would be re-hashed on every git command until the index is
	# rewritten; wait, then refresh once so the index is settled.
	sleep 1
	git update-index -q --refresh
	t4=$(now)
	local files commits objects pack
	files=$(git ls-files | wc -l)
	commits=$(git rev-list --count HEAD)
	objects=$(git count-objects -v | awk '/^in-pack:/ { print $2 }')
	pack=$(git count-objects -vH | awk '/^size-pack:/ { print $2, $3 }')
	cd "$dir/repos"
	mv "$repo.tmp" "$repo"
	{
		echo "files $files commits $commits objects $objects pack $pack"
		echo "fast-import $(secs "$t0" "$t1") s, repack $(secs "$t1" "$t2") s, checkout $(secs "$t2" "$t3") s, total $(secs "$t0" "$t4") s"
	} | tee "$repo.build" | sed "s/^/mkrepos: $name: /" >&2
}

for s in "${sizes[@]}"; do
	build "$s"
done
