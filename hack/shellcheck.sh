#!/usr/bin/env bash
# Runs shellcheck on every shell script of the repository: the *.sh files and every file whose
# first line is a sh/bash shebang (.ci/run, ...), tracked or new (not ignored), so a new script is
# checked without being listed anywhere. Settings: .shellcheckrc (sourced files are followed from
# the script's own directory). Installs shellcheck (Debian package) when it is missing.
#
# Usage: hack/shellcheck.sh [FILE...]   (default: all of them)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=SCRIPTDIR/lib.sh
. "$here/lib.sh"
cd "$here/.."

ensure_command shellcheck shellcheck

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
	while IFS= read -r -d '' f; do
		[ -f "$f" ] || continue # deleted in the work tree, not yet committed
		case "$f" in
		*.sh) files+=("$f") ;;
		*)
			if head -n 1 "$f" 2>/dev/null | grep -qE '^#!.*[/ ](ba)?sh([[:space:]]|$)'; then
				files+=("$f")
			fi
			;;
		esac
	done < <(git ls-files -z --cached --others --exclude-standard)
fi
if [ ${#files[@]} -eq 0 ]; then
	echo "shellcheck: no shell scripts found" >&2
	exit 1
fi

shellcheck --version | sed -n 's/^version: /shellcheck /p' >&2
if shellcheck "${files[@]}"; then
	echo "shellcheck: ${#files[@]} scripts clean: ${files[*]}"
else
	echo "shellcheck: findings above (fix them; a '# shellcheck disable=SCxxxx' needs a comment saying why)" >&2
	exit 1
fi
