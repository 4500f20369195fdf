#!/usr/bin/env bash
# compare.sh — time gitseal against git itself on the same repositories, in
# one run, interleaved, and print a markdown table of medians and ratios.
#
# Environment (all optional):
#   GITSEAL    gitseal binary (default: go build -o $BENCH_DIR/gitseal ./cmd/gitseal)
#   CGO_ENABLED  for that build (default 0: the static binary the README's
#              install recommends; 1 for the dynamically linked default build)
#   BENCH_DIR  work directory, outside the git tree (default /tmp/gitseal-bench)
#   N          timed runs of each command (default 21); WARMUP untimed first (default 2)
#   REPOS      repositories for set/get/run (default "small large")
#   OPS        operations (default "set get run history")
#   GIT_ONLY=1 time the git side only (automatic when gitseal does not build);
#              gitseal's files are replaced by stand-ins of the same shape
#
# The table goes to stdout; progress and quartiles go to stderr. See README.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
DIR=${BENCH_DIR:-/tmp/gitseal-bench}
N=${N:-21}
WARMUP=${WARMUP:-2}
REPOS=${REPOS-small large}
OPS=${OPS-set get run history}
GIT_ONLY=${GIT_ONLY:-}
# The history repository: the store is created after commit HIST_FIRST of
# the large history, and BENCH_SECRET is set then and after every HIST_EVERY
# commits: 40 versions spread over 20,000 commits.
HIST_FIRST=250
HIST_EVERY=500

SECRET=BENCH_SECRET
SECRETS_DIR=.gitseal/default/secrets
GITFILE=src/m00/p00/f00.txt # the one file the git side of `set` changes

log() { echo "compare: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

mkdir -p "$DIR/bin" "$DIR/work"
DIR=$(cd "$DIR" && pwd)

# Build everything before HOME is moved (the Go caches live under it).
(cd "$root" && go build -o "$DIR/bin/timeit" ./bench/timeit)
if [ -z "$GIT_ONLY" ] && [ -z "${GITSEAL:-}" ]; then
	CGO=${CGO_ENABLED-0}
	if (cd "$root" && CGO_ENABLED=$CGO go build -o "$DIR/gitseal" ./cmd/gitseal); then
		GITSEAL=$DIR/gitseal
		built_from=$(cd "$root" && git rev-parse --short HEAD)
		built_cgo="CGO_ENABLED=$CGO"
		[ -z "$(cd "$root" && git status --porcelain --untracked-files=no)" ] || built_from="$built_from+uncommitted changes"
	else
		log "warning: ./cmd/gitseal does not build; timing the git side only"
		GIT_ONLY=1
	fi
fi
if [ -z "$GIT_ONLY" ]; then
	GITSEAL=$(cd "$(dirname "$GITSEAL")" && pwd)/$(basename "$GITSEAL")
	[ -x "$GITSEAL" ] || die "GITSEAL=$GITSEAL is not an executable"
fi
export GITSEAL
TIMEIT=$DIR/bin/timeit

need=()
for r in $REPOS; do need+=("$r"); done
case " $OPS " in *" history "*) case " $REPOS " in *" large "*) ;; *) need+=(large) ;; esac ;; esac
"$here/mkrepos.sh" "$DIR" "${need[@]}"

# A clean, fixed environment for both tools: no user or system git config,
# no gitseal settings from the caller, a fixed author.
mkdir -p "$DIR/home"
export HOME=$DIR/home XDG_CONFIG_HOME=$DIR/home/.config GIT_CONFIG_NOSYSTEM=1
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_OBJECT_DIRECTORY GIT_CONFIG_GLOBAL \
	GIT_AUTHOR_DATE GIT_COMMITTER_DATE GITSEAL_IDENTITY GITSEAL_ENV GITSEAL_REF \
	GITSEAL_PIN_FILE GITSEAL_TRUST GITSEAL_PASSPHRASE
export GIT_AUTHOR_NAME="Gitseal Bench" GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME="Gitseal Bench" GIT_COMMITTER_EMAIL=bench@example.com
export GITSEAL_IDENTITY_FILE=$DIR/home/identity
if [ -z "$GIT_ONLY" ]; then
	rm -f "$GITSEAL_IDENTITY_FILE"
	"$GITSEAL" keygen -o "$GITSEAL_IDENTITY_FILE" 2>/dev/null || die "gitseal keygen -o failed"
	chmod 600 "$GITSEAL_IDENTITY_FILE"
fi

# 1000 test secrets in dotenv form (random values; this is benchmark data).
DOTENV=$DIR/work/secrets1000.env
head -c 24000 /dev/urandom | base64 -w 32 | tr '+/' '-_' | head -n 1000 |
	awk '{ printf "BENCH_KEY_%04d=%s\n", NR - 1, $0 }' >"$DOTENV"

# settle: let racily-clean index entries age, then refresh the index once.
settle() {
	sleep 1
	git update-index -q --refresh
}

# standin_secret NAME...: what gitseal would commit, for GIT_ONLY runs: one
# line of base64 per secret, about the size of a sealed short value.
standin_secret() {
	mkdir -p "$SECRETS_DIR"
	for name in "$@"; do
		head -c 90 /dev/urandom | base64 -w 0 | sed 's/^/gitseal.v1:/' >"$SECRETS_DIR/$name"
	done
}

# workcopy SRC DST: a fresh clone of the repository SRC at DST (objects
# hard-linked, so the copy is cheap and SRC stays untouched), made current.
workcopy() {
	rm -rf "$2"
	git clone -q --local "$1" "$2"
	cd "$2"
	git config gc.auto 0
	git config maintenance.auto false
	settle
}

rows=()

# compare OP REPO TARGET GITSEAL-SPEC... ::: GIT-SPEC...
# Runs both specs interleaved with timeit and records a table row. When the
# gitseal command fails (a command the CLI does not have yet), the row is
# timed for git alone and says so; GITSEAL_OK tells the caller.
compare() {
	local op=$1 repo=$2 target=$3
	shift 3
	local both=("$@") gitonly=() i
	for i in "${!both[@]}"; do
		if [ "${both[$i]}" = ":::" ]; then
			gitonly=("${both[@]:$((i + 1))}")
			break
		fi
	done
	log "$op on $repo: $N runs each..."
	local out sm="—"
	GITSEAL_OK=
	if [ -n "$GIT_ONLY" ]; then
		out=$("$TIMEIT" -n "$N" -warmup "$WARMUP" "${gitonly[@]}") || die "$op on $repo failed"
	elif out=$("$TIMEIT" -n "$N" -warmup "$WARMUP" "${both[@]}"); then
		GITSEAL_OK=1
	else
		log "warning: $op on $repo: gitseal failed (see above); timing git alone"
		sm="fails"
		out=$("$TIMEIT" -n "$N" -warmup "$WARMUP" "${gitonly[@]}") || die "$op on $repo failed"
	fi
	local name med q1 q3 min max n cpu
	while IFS=$'\t' read -r name med q1 q3 min max n cpu; do
		log "  $name: median $med ms (quartiles $q1–$q3, min $min, max $max, $n runs; cpu $cpu ms)"
	done <<<"$out"
	local g s gc sc ratio="—" cratio="—" met="—"
	g=$(awk -F'\t' '$1 == "git" { print $2 }' <<<"$out")
	gc=$(awk -F'\t' '$1 == "git" { print $8 }' <<<"$out")
	s=$(awk -F'\t' '$1 == "gitseal" { print $2 }' <<<"$out")
	sc=$(awk -F'\t' '$1 == "gitseal" { print $8 }' <<<"$out")
	if [ -n "$s" ]; then
		sm="$s ms"
		ratio=$(awk -v s="$s" -v g="$g" 'BEGIN { printf "%.2f×", s / g }')
		cratio=$(awk -v s="$sc" -v g="$gc" 'BEGIN { printf "%.2f×", s / g }')
		met=$(awk -v s="$s" -v g="$g" -v t="$target" 'BEGIN { print (s / g <= t) ? "yes" : "no" }')
	fi
	rows+=("| $op | $repo | $sm | $g ms | $ratio | $cratio | ≤ $target× | $met |")
}

# count_commits: commits on HEAD that changed the secret.
count_commits() { git rev-list --count HEAD -- "$SECRETS_DIR/$SECRET"; }

# bench_repo NAME: set, get and run on a fresh copy of NAME.
bench_repo() {
	local r=$1
	log "$r: preparing a work copy"
	workcopy "$DIR/repos/$r" "$DIR/work/$r"
	if [ -z "$GIT_ONLY" ]; then
		"$GITSEAL" init >/dev/null
		printf 'initial value' | "$GITSEAL" set "$SECRET"
		git cat-file -e "HEAD:$SECRETS_DIR/$SECRET" ||
			die "gitseal set did not commit $SECRETS_DIR/$SECRET (has the store layout changed?)"
	else
		standin_secret "$SECRET"
		git add .gitseal && git commit -q -m "stand-in secret"
	fi
	[ -z "$(git status --porcelain)" ] || die "$r: work copy not clean before timing"

	case " $OPS " in *" set "*)
		local before after
		before=$(count_commits)
		compare set "$r" 0.25 \
			@name=gitseal @unique-stdin=bench-value- "${GITSEAL:-gitseal}" set "$SECRET" \
			::: @name=git "@prepare=date +%s%N >$GITFILE" git commit --only -m x -- "$GITFILE"
		after=$(count_commits)
		if [ -n "$GITSEAL_OK" ] && [ $((after - before)) -ne $((N + WARMUP)) ]; then
			die "set on $r: expected $((N + WARMUP)) commits of $SECRET, got $((after - before))"
		fi
		;;
	esac

	case " $OPS " in *" get "*)
		compare get "$r" 1.5 \
			@name=gitseal "${GITSEAL:-gitseal}" get "$SECRET" \
			::: @name=git git show "HEAD:$SECRETS_DIR/$SECRET"
		;;
	esac

	case " $OPS " in *" run "*)
		if [ -z "$GIT_ONLY" ]; then
			"$GITSEAL" import "$DOTENV" >/dev/null
		else
			# shellcheck disable=SC2046
			standin_secret $(cut -d= -f1 "$DOTENV")
			git add .gitseal && git commit -q -m "stand-in secrets"
		fi
		local count
		count=$(git ls-tree HEAD "$SECRETS_DIR/" | wc -l)
		[ "$count" -ge 1000 ] || die "run on $r: expected 1000+ secrets in HEAD, found $count"
		# First as the import wrote them (one pack, by gitseal, whose zlib
		# stores short values uncompressed; git gc keeps those entries as
		# they are), then compressed again by git's zlib, as git packs
		# secrets that were set one at a time (loose objects).
		local spec=(@name=gitseal "${GITSEAL:-gitseal}" run -- true
			::: @name=git sh -c "git ls-tree HEAD $SECRETS_DIR/ | awk '{print \$3}' | git cat-file --batch >/dev/null")
		compare run "$r" 1 "${spec[@]}"
		git repack -q -a -d -F
		compare "run, after git repack -F" "$r" 1 "${spec[@]}"
		;;
	esac
	cd "$DIR"
}

# The history hook runs inside genrepo between import segments: it adds the
# store (first call) and one version of the secret, dated right after the
# last generated commit.
# shellcheck disable=SC2016
HIST_HOOK='set -e
export GIT_AUTHOR_DATE="$((GENREPO_TIME + 1)) +0000" GIT_COMMITTER_DATE="$((GENREPO_TIME + 1)) +0000"
if ! git cat-file -e HEAD:.gitseal 2>/dev/null; then
	git read-tree -u --reset HEAD
	if [ -z "$GIT_ONLY" ]; then "$GITSEAL" init >/dev/null; fi
fi
if [ -z "$GIT_ONLY" ]; then
	printf "version after commit %s" "$GENREPO_COMMIT" | "$GITSEAL" set '"$SECRET"'
else
	mkdir -p '"$SECRETS_DIR"'
	head -c 90 /dev/urandom | base64 -w 0 >'"$SECRETS_DIR/$SECRET"'
	git add -- '"$SECRETS_DIR/$SECRET"'
	git commit -q --only -m "stand-in: set '"$SECRET"'" -- '"$SECRETS_DIR/$SECRET"'
fi'

# hist_repo: DIR/repos/large-hist[-git], the large history with the secret's
# versions spread over it; rebuilt when missing, when built with other
# parameters, or when this gitseal cannot read it.
hist_repo() {
	local name=large-hist params
	[ -z "$GIT_ONLY" ] || name=large-hist-git
	HIST=$DIR/repos/$name
	params="first=$HIST_FIRST every=$HIST_EVERY"
	if [ -d "$HIST" ] && [ "$(cat "$HIST.params" 2>/dev/null)" = "$params" ]; then
		if [ -n "$GIT_ONLY" ] || (cd "$HIST" && "$GITSEAL" history "$SECRET" >/dev/null 2>&1); then
			log "$name: exists, kept ($HIST)"
			return
		fi
		log "$name: this gitseal cannot read it; rebuilding"
	fi
	rm -rf "$HIST" "$HIST.tmp"
	mkdir -p "$HIST.tmp"
	cd "$HIST.tmp"
	git init -q -b main
	git config gc.auto 0
	git config maintenance.auto false
	log "$name: building (about two minutes)"
	local t0=$SECONDS
	GIT_ONLY=$GIT_ONLY "$DIR/bin/genrepo" -size large -import \
		-hook "$HIST_HOOK" -hook-first "$HIST_FIRST" -hook-every "$HIST_EVERY" ||
		die "$name: history build failed"
	git repack -q -a -d -f --depth=50 --window=10
	git read-tree -u --reset HEAD
	settle
	[ -z "$(git status --porcelain)" ] || die "$name: not clean after build"
	cd "$DIR/repos"
	mv "$HIST.tmp" "$HIST"
	echo "$params" >"$HIST.params"
	log "$name: built in $((SECONDS - t0)) s"
}

bench_history() {
	hist_repo
	log "large-hist: preparing a work copy"
	workcopy "$HIST" "$DIR/work/large-hist"
	local versions
	versions=$(count_commits)
	log "large-hist: $versions commits change $SECRET, $(git rev-list --count HEAD) commits in all"
	compare history "large, $versions versions" 2 \
		@name=gitseal "${GITSEAL:-gitseal}" history "$SECRET" \
		::: @name=git git log --format=%H -- "$SECRETS_DIR/$SECRET"
	cd "$DIR"
}

load0=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${load0%% *}" -v c="$(nproc)" 'BEGIN { exit !(l >= c) }'; then
	log "warning: load average $load0 on $(nproc) cores: medians will be noisy (ratios less so)"
fi
start=$SECONDS
case " $OPS " in *" set "* | *" get "* | *" run "*)
	for r in $REPOS; do
		bench_repo "$r"
	done
	;;
esac
case " $OPS " in *" history "*) bench_history ;; esac
load1=$(cut -d' ' -f1-3 /proc/loadavg)

version="git only"
if [ -z "$GIT_ONLY" ]; then
	version="$("$GITSEAL" version 2>/dev/null | head -n 1)"
	[ -z "${built_from:-}" ] || version="$version built from $built_from with $built_cgo"
fi
echo "| operation | repo | gitseal median | git median | ratio | cpu ratio | target | met |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "Medians of $N interleaved runs each ($WARMUP warm-up), wall clock, warm page cache;" \
	"$(nproc) cores, git $(git --version | cut -d' ' -f3-), $version, $(date -u +%Y-%m-%d)." \
	"Load average $load0 before, $load1 after; took $((SECONDS - start)) s."
