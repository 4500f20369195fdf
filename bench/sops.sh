#!/usr/bin/env bash
# sops.sh — `gitseal run -- true` against `sops exec-env FILE true` with the
# same 1000 secrets, and against the git pipeline that reads the same 1000
# blobs, in one interleaved run (issue: run at most a third of sops).
#
# sops is built from source with `go install` (the module proxy is all this
# needs) into BENCH_DIR/bin the first time. Environment: BENCH_DIR (default
# /tmp/gitseal-bench), N (default 21), SOPS_VERSION (default v3.13.3),
# CGO_ENABLED for the gitseal build (default 0, as compare.sh), REPO (default
# small; a reference repository of mkrepos.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
DIR=${BENCH_DIR:-/tmp/gitseal-bench}
N=${N:-21}
SOPS_VERSION=${SOPS_VERSION:-v3.13.3}
REPO=${REPO:-small}
mkdir -p "$DIR/bin" "$DIR/sops"
DIR=$(cd "$DIR" && pwd)
work=$DIR/sops

(cd "$root" && go build -o "$DIR/bin/timeit" ./bench/timeit)
(cd "$root" && CGO_ENABLED=${CGO_ENABLED-0} go build -o "$work/gitseal" ./cmd/gitseal)
if ! "$DIR/bin/sops" --version --disable-version-check 2>/dev/null | grep -q "${SOPS_VERSION#v}"; then
	echo "sops.sh: building sops $SOPS_VERSION" >&2
	GOBIN=$DIR/bin go install "github.com/getsops/sops/v3/cmd/sops@$SOPS_VERSION"
fi
"$here/mkrepos.sh" "$DIR" "$REPO" >&2

export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config GIT_CONFIG_NOSYSTEM=1
unset GIT_DIR GIT_WORK_TREE GITSEAL_IDENTITY GITSEAL_ENV GITSEAL_REF GITSEAL_PIN_FILE GITSEAL_TRUST
export GIT_AUTHOR_NAME="Gitseal Bench" GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME="Gitseal Bench" GIT_COMMITTER_EMAIL=bench@example.com
rm -rf "$work/home" "$work/repo" "$work/identity"
mkdir -p "$work/home"
# One age identity for both tools.
export GITSEAL_IDENTITY_FILE=$work/identity SOPS_AGE_KEY_FILE=$work/identity
"$work/gitseal" keygen -o "$GITSEAL_IDENTITY_FILE" 2>/dev/null
pub=$(grep -o 'age1[0-9a-z]*' "$GITSEAL_IDENTITY_FILE" | head -n 1)

# 1000 random secrets, dotenv.
head -c 24000 /dev/urandom | base64 -w 32 | tr '+/' '-_' | head -n 1000 |
	awk '{ printf "BENCH_KEY_%04d=%s\n", NR - 1, $0 }' >"$work/plain.env"
"$DIR/bin/sops" encrypt --age "$pub" --input-type dotenv --output-type dotenv "$work/plain.env" >"$work/secrets.enc.env"

git clone -q --local "$DIR/repos/$REPO" "$work/repo"
cd "$work/repo"
git config gc.auto 0
"$work/gitseal" init >/dev/null 2>&1
"$work/gitseal" import "$work/plain.env" >/dev/null 2>&1
git repack -q -d
rm -f "$work/plain.env"
n=$("$DIR/bin/sops" exec-env "$work/secrets.enc.env" 'env | grep -c "^BENCH_KEY_"')
[ "$n" = 1000 ] || { echo "sops.sh: sops exec-env gave $n variables, not 1000" >&2; exit 1; }

out=$("$DIR/bin/timeit" -n "$N" \
	@name=gitseal "$work/gitseal" run -- true ::: \
	@name=sops "$DIR/bin/sops" exec-env "$work/secrets.enc.env" true ::: \
	@name=git sh -c "git ls-tree HEAD .gitseal/default/secrets/ | awk '{print \$3}' | git cat-file --batch >/dev/null")
s=$(awk -F'\t' '$1 == "sops" { print $2 }' <<<"$out")
g=$(awk -F'\t' '$1 == "git" { print $2 }' <<<"$out")
echo "| command, 1000 secrets | median | quartiles | × sops exec-env | × git pipeline |"
echo "|---|---|---|---|---|"
awk -F'\t' -v s="$s" -v g="$g" '{ printf "| %s | %.2f ms | %.2f–%.2f | %.2f× | %.2f× |\n", $1, $2, $3, $4, $2 / s, $2 / g }' <<<"$out"
echo
echo "Medians of $N interleaved runs on the $REPO repository; $(nproc) cores, sops $SOPS_VERSION," \
	"gitseal built with CGO_ENABLED=${CGO_ENABLED-0} from $(cd "$root" && git rev-parse --short HEAD); load average $(cut -d' ' -f1-3 /proc/loadavg)."
