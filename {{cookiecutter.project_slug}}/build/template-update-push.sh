#!/usr/bin/env bash
# template-update-push.sh: CI's second template-update job, the only one that holds a write token.
# It runs in a fresh checkout of the base branch and runs nothing from the template or the update
# branch: git runs with hooks off and no global or system configuration. It takes the branch from
# the bundle that `make template-update` wrote (TEMPLATE_UPDATE_BUNDLE), checks that it is one
# branch template-update/vX.Y.Z of commits on this checkout's HEAD, pushes it, and opens the pull
# request (GitHub) or merge request (GitLab) with TEMPLATE_UPDATE_REPORT as its text.
#   GitHub: GH_TOKEN; the repository, server and API from the runner's GITHUB_* variables.
#   GitLab: TEMPLATE_UPDATE_TOKEN; the project, server and API from the CI_* variables.
#   TEMPLATE_UPDATE_REMOTE and TEMPLATE_UPDATE_API replace the remote and the API's base URL.
set -o errexit -o nounset -o pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0
safe_git() { git -c core.hooksPath=/dev/null -c credential.helper= "$@"; }

bundle="${TEMPLATE_UPDATE_BUNDLE:-}"
report="${TEMPLATE_UPDATE_REPORT:-}"
[[ -n "$bundle" ]] || fail "TEMPLATE_UPDATE_BUNDLE is not set: the path where make template-update writes its bundle"
if [[ ! -e "$bundle" ]]; then
  echo "nothing to push: make template-update wrote no bundle (the project is at the newest release, or its update branch exists)"
  exit 0
fi
[[ -f "$bundle" ]] || fail "TEMPLATE_UPDATE_BUNDLE=\"$bundle\" is not allowed: the bundle that make template-update wrote"
[[ -f "$report" ]] || fail "TEMPLATE_UPDATE_REPORT=\"$report\" is not allowed: the report that make template-update wrote"

if [[ "${GITHUB_ACTIONS:-}" == true ]]; then
  token="${GH_TOKEN:?GH_TOKEN is not set: the workflow token}"
  user=x-access-token
  remote="${TEMPLATE_UPDATE_REMOTE:-$GITHUB_SERVER_URL/$GITHUB_REPOSITORY.git}"
  api="${TEMPLATE_UPDATE_API:-$GITHUB_API_URL}"
  base="$GITHUB_REF_NAME"
elif [[ "${GITLAB_CI:-}" == true ]]; then
  token="${TEMPLATE_UPDATE_TOKEN:?TEMPLATE_UPDATE_TOKEN is not set: a project access token in the environment template-update}"
  user=oauth2
  remote="${TEMPLATE_UPDATE_REMOTE:-$CI_SERVER_URL/$CI_PROJECT_PATH.git}"
  api="${TEMPLATE_UPDATE_API:-$CI_API_V4_URL}"
  base="$CI_COMMIT_BRANCH"
else
  fail "template-update-push.sh runs in GitHub Actions or GitLab CI only"
fi

# The bundle must hold exactly one branch, template-update/vX.Y.Z.
heads="$(safe_git bundle list-heads "$bundle")" || fail "$bundle is not a git bundle"
[[ "$heads" =~ ^[0-9a-f]{40}\ refs/heads/(template-update/v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*))$ ]] ||
  fail "the bundle is not allowed: exactly one branch template-update/vX.Y.Z, not: ${heads//$'\n'/, }"
branch="${BASH_REMATCH[1]}"

# Its commits must sit on this checkout's HEAD, the base the first job started from, with no merge.
safe_git fetch --quiet --no-tags "$bundle" "+refs/heads/$branch:refs/template-update/incoming"
incoming=refs/template-update/incoming
safe_git merge-base --is-ancestor HEAD "$incoming" || fail "$branch is not allowed: it does not start from $base's commit"
[[ "$(safe_git rev-list --count "HEAD..$incoming")" -ge 1 ]] || fail "$branch is not allowed: it has no commit"
[[ -z "$(safe_git rev-list --merges "HEAD..$incoming")" ]] || fail "$branch is not allowed: it has a merge commit"
workflows="$(safe_git diff --name-only HEAD "$incoming" -- .github/workflows)"

# The token never goes on a command line: to git in the environment, to curl in a header file.
auth="AUTHORIZATION: basic $(printf '%s:%s' "$user" "$token" | base64 | tr -d '\n')"
if ! GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.extraHeader GIT_CONFIG_VALUE_0="$auth" \
  safe_git push --quiet "$remote" "$incoming:refs/heads/$branch"; then
  if [[ -n "$workflows" ]]; then
    printf '::error::the release changes %s: the workflow token cannot push workflow files; give this job a GitHub App token with the workflows permission (docs/updates in the template)\n' "${workflows//$'\n'/, }" >&2
  fi
  fail "could not push $branch (does it exist already? then review and merge it, or delete it to redo the update)"
fi
echo "pushed $branch"

title="Template release ${branch#template-update/}"
if [[ "${GITHUB_ACTIONS:-}" == true ]]; then
  jq --null-input --arg title "$title" --arg head "$branch" --arg base "$base" --rawfile body "$report" \
    '{title: $title, head: $head, base: $base, body: $body}' |
    curl --fail --silent --show-error --output /dev/null --request POST --data @- \
      --header @<(printf 'Authorization: Bearer %s\n' "$token") --header "Accept: application/vnd.github+json" \
      "$api/repos/$GITHUB_REPOSITORY/pulls"
else
  curl --fail --silent --show-error --output /dev/null --request POST \
    --header @<(printf 'PRIVATE-TOKEN: %s\n' "$token") \
    --data-urlencode "source_branch=$branch" --data-urlencode "target_branch=$base" \
    --data-urlencode "title=$title" --data-urlencode "description@$report" --data "remove_source_branch=true" \
    "$api/projects/$CI_PROJECT_ID/merge_requests"
fi
echo "opened the request for $branch into $base"
